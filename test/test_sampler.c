// test_sampler.c: the sampler (sampler.c) on fixed logits, against distributions computed
// independently in PyTorch, and its draws against those distributions.
//
//   build/native/test_sampler test/fixtures/sampler_cases.txt [test/fixtures/ref_sampler.json]
//
// sampler_cases.txt is written by test/sampler_reference.py (Hugging Face's logits processors in
// PyTorch); ref_sampler.json by test/reference.py (the book's generate() on its nine-token
// example, section 5.3). For every case: sampler_probs equals the reference within ATOL + RTOL * p with exactly
// the same tokens filtered out, and 100,000 seeded draws pass a chi-square test (p = 0.001) and never
// land on a filtered token. Then the book's printed top-k numbers, greedy ties, top-k ties and
// reproducibility from the seed. Exits 1 on any failure, naming the worst element.
#include "../gpt2.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATOL 1e-6
#define RTOL 1e-4 // float32 softmax against float64: a few ulps of the largest terms
#define DRAWS 100000
#define MAXV 1000
#define MAXH 256

typedef struct {
    char name[64];
    SamplerConfig cfg;
    int V, n_history;
    float logits[MAXV];
    int history[MAXH];
    double probs[MAXV];
} Case;

static int failures = 0;

static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}

// One block of sampler_cases.txt; 0 at the end of the file, -1 on a malformed block.
static int read_case(FILE *f, Case *c) {
    char line[256];
    long pos;
    do { // skip comments
        pos = ftell(f);
        if (!fgets(line, sizeof(line), f)) return 0;
    } while (line[0] == '#' || line[0] == '\n');
    fseek(f, pos, SEEK_SET);
    *c = (Case){0};
    c->cfg = sampler_defaults();
    int n;
    if (fscanf(f, " case %63s %f %d %f %f %f %d", c->name, &c->cfg.temperature, &c->cfg.top_k, &c->cfg.top_p,
               &c->cfg.min_p, &c->cfg.repeat_penalty, &c->cfg.repeat_last_n) != 7)
        return -1;
    if (fscanf(f, " logits %d", &c->V) != 1 || c->V < 1 || c->V > MAXV) return -1;
    for (int i = 0; i < c->V; i++)
        if (fscanf(f, "%f", &c->logits[i]) != 1) return -1;
    if (fscanf(f, " history %d", &c->n_history) != 1 || c->n_history < 0 || c->n_history > MAXH) return -1;
    for (int i = 0; i < c->n_history; i++)
        if (fscanf(f, "%d", &c->history[i]) != 1) return -1;
    if (fscanf(f, " probs %d", &n) != 1 || n != c->V) return -1;
    for (int i = 0; i < c->V; i++)
        if (fscanf(f, "%lf", &c->probs[i]) != 1) return -1;
    return 1;
}

// sampler_probs against the reference: same support, values within ATOL + RTOL * p.
static void check_probs(const char *name, Sampler *s, const double *ref) {
    double worst = 0.0;
    int wi = 0;
    for (int i = 0; i < s->V; i++) {
        if ((ref[i] == 0.0) != (s->probs[i] == 0.0f)) {
            fail(name, "id %d: p = %g, reference %g (one filtered, the other not)", i, s->probs[i], ref[i]);
            return;
        }
        double d = fabs(s->probs[i] - ref[i]) / (ATOL + RTOL * ref[i]);
        if (d > worst) worst = d, wi = i;
    }
    if (worst > 1.0) fail(name, "worst id %d: p = %.9g, reference %.9g, outside ATOL + RTOL * p", wi, s->probs[wi], ref[wi]);
}

// Chi-square critical value at significance 0.001 for df degrees of freedom (Wilson-Hilferty:
// chi2/df is about normal after a cube root; within 1% of the exact value for df >= 1).
static double chi2_critical(int df) {
    double z = 3.0902, h = 2.0 / (9.0 * df);
    return df * pow(1.0 - h + z * sqrt(h), 3.0);
}

// DRAWS draws (each through sampler_sample when full, else sampler_probs once and sampler_draw)
// against the expected counts; bins expected below 5 are pooled, as the test requires.
static void check_draws(const Case *c, int full) {
    static long count[MAXV];
    char err[GPT2_ERR_LEN];
    Sampler s;
    SamplerConfig cfg = c->cfg;
    cfg.seed = 2024;
    if (sampler_build(&s, c->V, &cfg, err) != 0) {
        printf("FAIL %s: %s\n", c->name, err), failures++;
        return;
    }
    memset(count, 0, sizeof(count));
    if (!full) sampler_probs(&s, c->logits, c->history, c->n_history);
    for (int d = 0; d < DRAWS; d++) {
        int id = full ? sampler_sample(&s, c->logits, c->history, c->n_history) : sampler_draw(&s);
        if (id < 0 || id >= c->V || c->probs[id] == 0.0) {
            fail(c->name, "draw %d landed on id %d, which has reference probability %g", d, id, id >= 0 && id < c->V ? c->probs[id] : -1.0);
            sampler_free(&s);
            return;
        }
        count[id]++;
    }
    double chi2 = 0.0, pool_e = 0.0, pool_o = 0.0;
    int bins = 0;
    for (int i = 0; i < c->V; i++) {
        double e = c->probs[i] * DRAWS;
        if (e == 0.0) continue;
        if (e < 5.0) {
            pool_e += e, pool_o += count[i];
            continue;
        }
        chi2 += (count[i] - e) * (count[i] - e) / e, bins++;
    }
    if (pool_e > 0.0) chi2 += (pool_o - pool_e) * (pool_o - pool_e) / (pool_e > 1.0 ? pool_e : 1.0), bins++;
    if (bins > 1) {
        double crit = chi2_critical(bins - 1);
        if (chi2 > crit) fail(c->name, "chi-square %.2f > %.2f (critical at p = 0.001, %d bins)", chi2, crit, bins);
        else printf("  %-20s %d draws: chi-square %7.2f, critical %7.2f, %4d bins\n", c->name, DRAWS, chi2, crit, bins);
    } else {
        printf("  %-20s %d draws: all on the one token left\n", c->name, DRAWS);
    }
    sampler_free(&s);
}

static void run_case(const Case *c) {
    char err[GPT2_ERR_LEN];
    Sampler s;
    if (sampler_build(&s, c->V, &c->cfg, err) != 0) {
        printf("FAIL %s: %s\n", c->name, err), failures++;
        return;
    }
    sampler_probs(&s, c->logits, c->history, c->n_history);
    check_probs(c->name, &s, c->probs);
    sampler_free(&s);
    check_draws(c, c->V < 100);
}

// The test/reference.py fixture: logits, then blocks with "top_k", "temperature" and nine "probs".
static void check_ref_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("  %s: not there, skipped (sampler_cases.txt has the same cases)\n", path);
        return;
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    float logits[9];
    char *p = strstr(buf, "\"logits\"");
    p = p ? strchr(p, '[') : NULL;
    for (int i = 0; p && i < 9; i++) logits[i] = strtof(p + 1, &p);
    int cases = 0;
    for (char *q = p ? strstr(p, "\"top_k\"") : NULL; q; q = strstr(q + 1, "\"top_k\"")) {
        Case c = {0};
        c.V = 9;
        memcpy(c.logits, logits, sizeof(logits));
        c.cfg = sampler_defaults();
        c.cfg.top_k = atoi(strchr(q, ':') + 1);
        char *t = strstr(q, "\"temperature\""), *pr = strstr(q, "\"probs\"");
        if (!t || !pr || !(pr = strchr(pr, '['))) break;
        c.cfg.temperature = strtof(strchr(t, ':') + 1, NULL);
        for (int i = 0; i < 9; i++) c.probs[i] = strtod(pr + 1, &pr);
        snprintf(c.name, sizeof(c.name), "ref_sampler.json k=%d T=%g", c.cfg.top_k, c.cfg.temperature);
        Sampler s;
        char err[GPT2_ERR_LEN];
        if (sampler_build(&s, 9, &c.cfg, err) != 0) break;
        sampler_probs(&s, c.logits, NULL, 0);
        check_probs(c.name, &s, c.probs);
        sampler_free(&s);
        cases++;
    }
    if (cases == 0) printf("FAIL %s: no cases read\n", path), failures++;
    else printf("  %s: %d cases checked\n", path, cases);
}

// Fixed expectations that need no reference: the book's printed numbers and the edge cases.
static void check_fixed(void) {
    const float nine[9] = {4.51f, 0.89f, -1.90f, 6.75f, 1.63f, -1.62f, -1.89f, 6.28f, 1.79f};
    const double book_k3[9] = {0.0615, 0, 0, 0.5775, 0, 0, 0, 0.3610, 0}; // top-k 3, T = 1, to 4 places
    char err[GPT2_ERR_LEN];
    Sampler s;
    SamplerConfig cfg = sampler_defaults();
    cfg.temperature = 1.0f, cfg.top_k = 3;
    if (sampler_build(&s, 9, &cfg, err) != 0) {
        printf("FAIL %s\n", err), failures++;
        return;
    }
    sampler_probs(&s, nine, NULL, 0);
    for (int i = 0; i < 9; i++)
        if (fabs(s.probs[i] - book_k3[i]) > 0.5e-4) fail("the book's top-k 3", "id %d: p = %.5f, the book prints %.4f", i, s.probs[i], book_k3[i]);
    sampler_free(&s);

    // greedy: the lowest id among equal maxima, as torch.argmax; top-k 1 keeps both tied maxima
    const float tie[5] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
    cfg = sampler_defaults();
    sampler_build(&s, 5, &cfg, err);
    int g = sampler_sample(&s, tie, NULL, 0);
    if (g != 1) fail("greedy ties", "greedy picked %d, expected 1 (the lowest id among ties)", g);
    sampler_free(&s);
    cfg.temperature = 1.0f, cfg.top_k = 1;
    sampler_build(&s, 5, &cfg, err);
    sampler_probs(&s, tie, NULL, 0);
    if (fabsf(s.probs[1] - 0.5f) > 1e-6f || fabsf(s.probs[3] - 0.5f) > 1e-6f || s.probs[0] || s.probs[2] || s.probs[4])
        fail("top-k ties", "p(1) = %g, p(3) = %g, expected 0.5 each, nothing else", s.probs[1], s.probs[3]);
    sampler_free(&s);

    // a temperature so small that 1/T overflows: all the mass on the argmax, no NaN
    cfg = sampler_defaults();
    cfg.temperature = 1e-38f;
    sampler_build(&s, 9, &cfg, err);
    sampler_probs(&s, nine, NULL, 0);
    if (!(s.probs[3] == 1.0f)) fail("tiny temperature", "p(3) = %g with T = 1e-38, expected 1", s.probs[3]);
    sampler_free(&s);

    // logits that are not finite: NaN never drawn, +inf the largest, none above -inf: uniform
    const float odd[5] = {NAN, 2.0f, INFINITY, NAN, 1.0f};
    cfg = sampler_defaults();
    sampler_build(&s, 5, &cfg, err);
    g = sampler_sample(&s, odd, NULL, 0);
    if (g != 2) fail("non-finite logits", "greedy picked %d, expected 2 (+inf)", g);
    sampler_free(&s);
    cfg.temperature = 1.0f;
    sampler_build(&s, 5, &cfg, err);
    sampler_probs(&s, odd, NULL, 0);
    if (s.probs[0] != 0.0f || s.probs[3] != 0.0f || s.probs[2] != 1.0f)
        fail("non-finite logits", "p = %g %g %g %g %g, expected 0 for the NaNs and 1 for +inf", s.probs[0],
             s.probs[1], s.probs[2], s.probs[3], s.probs[4]);
    const float none[5] = {NAN, -INFINITY, NAN, -INFINITY, -INFINITY};
    sampler_probs(&s, none, NULL, 0);
    for (int i = 0; i < 5; i++)
        if (!(fabsf(s.probs[i] - 0.2f) <= 1e-6f)) fail("no finite logit", "p(%d) = %g, expected 0.2", i, s.probs[i]);
    sampler_free(&s);

    // the same seed gives the same draws; sampler_probs + sampler_draw equals sampler_sample
    Sampler a, b;
    cfg = sampler_defaults();
    cfg.temperature = 5.0f, cfg.seed = 7;
    sampler_build(&a, 9, &cfg, err);
    sampler_build(&b, 9, &cfg, err);
    for (int i = 0; i < 1000; i++) {
        int x = sampler_sample(&a, nine, NULL, 0);
        sampler_probs(&b, nine, NULL, 0);
        int y = sampler_draw(&b);
        if (x != y) {
            fail("seed reproducibility", "draw %d: sampler_sample gave %d, sampler_draw %d", i, x, y);
            break;
        }
    }
    sampler_free(&a), sampler_free(&b);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: test_sampler sampler_cases.txt [ref_sampler.json]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static Case c;
    int r, n = 0;
    while ((r = read_case(f, &c)) == 1) run_case(&c), n++;
    fclose(f);
    if (r < 0 || n == 0) printf("FAIL %s: malformed after %d cases\n", argv[1], n), failures++;
    if (argc == 3) check_ref_json(argv[2]);
    check_fixed();
    printf("test_sampler: %d cases from %s, %d failures\n", n, argv[1], failures);
    return failures ? 1 : 0;
}

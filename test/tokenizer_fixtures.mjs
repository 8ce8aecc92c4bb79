// tokenizer_fixtures.mjs: write test/fixtures/tokenizer_cases.txt, the reference encodings that
// test/test_tokenizer.c checks tokenizer.c against, made by an independent implementation: the npm
// package tiktoken (pinned in test/package.json), encoding "gpt2", with "<|endoftext|>" allowed;
// and test/fixtures/tokenizer_ordinary_cases.txt, the same from encode_ordinary (no special tokens).
//
//   cd test && npm install && node tokenizer_fixtures.mjs
//
// File format, one case per line: the text's UTF-8 bytes in hex ("-" for the empty text), a space,
// then the ids separated by spaces. Hex keeps NUL, CR and every other byte exact and trivial to read
// from C. Lines starting with '#' are comments.
import { get_encoding } from "tiktoken";
import { readFileSync, writeFileSync } from "node:fs";

const OUT = new URL("./fixtures/tokenizer_cases.txt", import.meta.url);
const ORDINARY_OUT = new URL("./fixtures/tokenizer_ordinary_cases.txt", import.meta.url);
const EOT = "<|endoftext|>";

// ---- hand-written cases -------------------------------------------------------------------------
const prose = [
  "Every effort moves you",
  "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.",
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.",
  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.",
  "In a hole in the ground there lived a hobbit.",
  "All happy families are alike; each unhappy family is unhappy in its own way.",
  "The transformer architecture, introduced in 2017, relies entirely on attention mechanisms.",
  "GPT-2 is a large transformer-based language model with 1.5 billion parameters, trained on a dataset of 8 million web pages.",
  "She said, \"I can't believe it's already 5 o'clock!\" and left.",
  "Mr. and Mrs. Dursley, of number four, Privet Drive, were proud to say that they were perfectly normal, thank you very much.",
  "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\nThe slings and arrows of outrageous fortune,",
  "  Leading spaces and trailing spaces  ",
  "Dear Sir/Madam,\n\nI am writing to inform you that your order #12345 has shipped.\n\nBest regards,\nJohn",
  "Q: What's the capital of France?\nA: Paris.",
  "1. First item\n2. Second item\n3. Third item",
  "e.g. i.e. etc. vs. Dr. St. Jr.",
  "The year 1999 was followed by 2000, then 2001; prices rose 3.5% to $1,234.56.",
  "ALL CAPS SENTENCE WITH SHOUTING!!!",
  "camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_SNAKE",
  "newline\nseparated\nwords\n",
  "tab\tseparated\tvalues\t1\t2\t3",
  "I'm sure you'll agree we've done what they'd asked, and it's fine; isn't it?",
  "someunknownPlace",
  " someunknownPlace",
  "Hello",
  " Hello",
  "hello world",
  "HELLO WORLD",
];

const contractions = ["s", "t", "re", "ve", "m", "ll", "d"];
function contractionCases() {
  const out = [];
  for (const c of contractions) {
    for (const form of [c, c.toUpperCase(), c[0].toUpperCase() + c.slice(1)]) {
      for (const apos of ["'", "\u2019", "\u02bc", "`"]) {
        out.push(`${apos}${form}`, `it${apos}${form}`, `IT${apos}${form}`, ` ${apos}${form}`, `x${apos}${form}x`, `1${apos}${form}`, `!${apos}${form}`);
      }
    }
  }
  out.push("'", "''", "'''s", "''s", "'s's", "'ss", "'S's", "don't", "DON'T", "Don't", "can't won't shan't",
    "y'all", "o'clock", "rock'n'roll", "'tis", "'twas", "'r", "'l", "'v", "'ree", "'llama", "'dog", "'m'",
    "we'RE", "WE're", "I'M", "I'm", "they'VE", "you'lL", "he'D", "she'S", "' s", "'\ns", "'\u0301s",
    "Jones' house", "the '90s", "rock 'n' roll", "'quoted'", "\"'s\"");
  return out;
}

const numbers = ["0", "1", "12", "123", "1234", "12345", "123456789012345678901234567890", "3.14159", "1,000,000",
  " 42", "  42", "-17", "+1", "1e10", "6.02e23", "0x1F", "0b1010", "2024-11-27", "12:34:56", "v1.2.3", "$9.99",
  "50%", "1st 2nd 3rd 4th", "9999999999", "007", "1 2 3 4 5", "1\n2\n3", "a1b2c3", "abc123def", "123abc",
  "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "১২৩", "๑๒๓", "１２３４５", "¹²³", "x²+y²=z²", "½ ¼ ¾", "①②③", "Ⅻ", "ⅫⅠⅤ", "ⅰⅱⅲ",
  "𝟘𝟙𝟚", "𝟏𝟐𝟑", "〇一二三", "𒐀𒐁", "𐌠𐌡", "🄀🄁", "⁰⁴⁵", "₀₁₂", "3²", "m²", "H₂O", "10½", "Ⅻo'clock", "²'s", "1'st"];

const spaces = [];
for (const ws of [" ", "\t", "\n", "\r\n", "\r", "\u000b", "\u000c", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2003",
  "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\u180e", "\ufeff", "\u00ad"]) {
  for (const n of [1, 2, 3, 5]) {
    const run = ws.repeat(n);
    spaces.push(run, `${run}word`, `word${run}`, `word${run}word`, `${run}1`, `${run}!`);
  }
}
spaces.push("", " ", "  ", "   ", "    word", "word    ", "a  b   c    d", " \t \n ", "\n\n\n", "\n \n", " \n",
  "\n ", "\t\tindented", "line1\r\nline2\r\n", "\r\n\r\n", " \r\n x", "x \t", "x\t ", " \u00a0x", "\u00a0 x",
  "\u3000 x", " \u3000x", "   \n   \n   x", "a \n b", "a\n\n\nb", "\t", "\n", "end \n", " ' ", "  's", " 1", "  1",
  "x  !", "x \u00a0!", "\u2028x", "x\u2029");

const punct = ["!!!", "?!", "...", "…", "—", "–", "--", "---", "“quoted”", "‘single’", "«guillemets»", "(a)", "[x]",
  "{}", "@#$%^&*", "<>", "<<=>>", "!=", "==", "===", "->", "=>", "::", ";;", "/*", "*/", "//", "#!", "~~~", "|||",
  "a.b.c", "a,b,c", "hello!!!world", "wow?!?!", "…and then", "§1", "¶", "©®™", "°C", "℃", "£€¥₹", "¿Qué?", "¡Hola!",
  "\"\"\"", "'''", "```", "**bold**", "__init__", "_", "__", "|-|", "\\n", "\\\\", "%s %d", "{{template}}", "<b>",
  "&amp;", "&#x27;", "„Anführung“", "「かぎ括弧」", "《书名》", "、。", "！？", "؟", "।", "٪"];

const code = [
  "int main(void) {\n    return 0;\n}\n",
  "def f(x):\n    return x * 2  # double\n",
  "for (int i = 0; i < n; i++) { sum += a[i]; }",
  "const x = { a: 1, 'b': [2, 3], \"c\": null };",
  "if x != None and y >= 10:\n\tprint(f\"{x=}\")",
  "SELECT * FROM users WHERE id = 42;",
  "#include <stdio.h>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))",
  "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
  "    \n    \n",
  "x=1;y=2;z=x+y",
  "$ ls -la | grep '.txt' > out.log 2>&1",
  "<div class=\"main\"><p>Hello</p></div>",
  "{\"key\": \"value\", \"n\": [1, 2.5, -3e4], \"ok\": true}",
  "a_b-c.d/e\\f:g",
  "        deeply_indented()",
  "// comment\n/* block */\n",
  "λx.x",
  "matrix[i][j] += alpha * A[i][k] * B[k][j];",
];

const urls = ["https://www.example.com/path/to/page?query=1&b=two#frag", "http://localhost:8080/", "user@example.com",
  "ftp://ftp.gnu.org/gnu/", "www.google.com", "https://en.wikipedia.org/wiki/GPT-2", "mailto:someone@somewhere.org",
  "C:\\Users\\Name\\file.txt", "/usr/share/unicode/UnicodeData.txt", "git@github.com:user/repo.git",
  "https://例え.jp/パス", "192.168.0.1:443", "[2001:db8::1]:80"];

const emoji = ["👍", "👍🏽", "👋🏿 hi", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇫🇷🇩🇪", "1️⃣", "#️⃣", "❤️", "♥", "😀😃😄", "🙂 smile",
  "emoji🙂inside", " 🎉🎉", "🧑‍🤝‍🧑", "🫠", "🐈‍⬛", "☕️tea", "✅ done", "🤷‍♀️", "👁️‍🗨️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"];

const scripts = ["中文字符测试", "我爱自然语言处理。", "日本語のテキストです。", "カタカナ ひらがな 漢字", "한국어 텍스트", "안녕하세요!",
  "مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "שלום עולם", "नमस्ते दुनिया", "हिन्दी में लिखा गया पाठ", "ক্ষ্ম", "தமிழ்", "తెలుగు",
  "ಕನ್ನಡ", "മലയാളം", "ગુજરાતી", "ਪੰਜਾਬੀ", "ภาษาไทย", "ພາສາລາວ", "မြန်မာ", "ខ្មែរ", "Ελληνικά", "Русский язык", "Українська",
  "ქართული", "Հայերեն", "አማርኛ", "ᏣᎳᎩ", "ᠮᠣᠩᠭᠣᠯ", "བོད་ཡིག", "ދިވެހި", "ܣܘܪܝܝܐ", "Tiếng Việt có dấu", "Zażółć gęślą jaźń",
  "Þetta er íslenska", "Straße", "İstanbul ıi", "ǅungla", "ﬁﬂ ligatures", "Å Å", "ª º µ", "ʰʲʷ", "ꙮ", "𓀀𓀁 hieroglyphs",
  "𐍈𐌰𐌹", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐇𝐞𝐥𝐥𝐨", "ℕℤℚℝℂ", "ℵ₀", "ℓ", "№", "K Kelvin", "Ω Ohm"];

const accents = ["café", "cafe\u0301", "naïve", "nai\u0308ve", "ñ", "n\u0303", "résumé", "re\u0301sume\u0301", "Åström",
  "A\u030astro\u0308m", "e\u0301\u0302\u0303", " \u0301", "\u0301", "\u0301\u0301a", "a\u0301 b\u0301", "1\u0301",
  "!\u0301", "Z\u0351\u0352\u0353a\u0357\u0358l\u035cg\u035d\u035eo\u0360", "ḍ̇", "ǘ", "u\u0308\u0301", "ё", "е\u0308", "각",
  "\u1100\u1161\u11a8", "क्ष", "ि", "\u093f\u093e"];

const controls = ["\u0000", "a\u0000b", "\u0000\u0000\u0000", " \u0000", "\u0001\u0002\u0003", "\u007f", "\u001b[31mred\u001b[0m",
  "\u0008", "bell\u0007", "\u001f\u001e", "\u0080\u0081", "\u009f", "\u200d", "\u200c", "\u200e\u200f", "\u2060",
  "\ufffd", "\ufffe\uffff", "\ue000\uf8ff", "\u{f0000}", "\u{10ffff}", "\u{e0001}\u{e0041}", "\u2066x\u2069"];

// Letters and numbers by Unicode version: tiktoken's regex engine is at Unicode 16.0.
const versions = ["\u{10d50}'s", "\u{10d50}\u{10d51} \u{10d52}", "\u{2ebf0}'s", "\u{2ebf0}\u{2ebf1}", "\u{11f04}'s",
  "\u{1d2c0}'s", "\u{1d2c0}\u{1d2c1}1", "\u{10940}'s", "\u{323b0}'s", "\u{1e4d0}'s", "\u{16ea0}'s", "\u{0cf3}'s",
  "\u{1e030}'s", "\u{11f50}'s"];

const eot = [EOT, EOT + EOT, EOT.repeat(5), ` ${EOT}`, `${EOT} `, ` ${EOT} `, `  ${EOT}  `, `foo${EOT}bar`,
  `x${EOT}'s`, `'${EOT}s`, `1${EOT}2`, `\n${EOT}\n`, `${EOT}\n\n`, `<|endoftext|`, `<|endoftext`, `|endoftext|>`,
  `<|ENDOFTEXT|>`, `<|endoftext|>>`, `<<|endoftext|>`, `<|endo${EOT}ftext|>`, `<|startoftext|>`, `< |endoftext|>`,
  `text ${EOT} more text ${EOT}`, `${EOT}Hello`, `Hello${EOT}`, `  \t${EOT}\t  `, `a\u0301${EOT}\u0301`, "<|", "|>",
  "<|>", `<|endoftext|>`.split("").join(" ")];

function longCases(rand) {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const rnd = (n, alpha) => Array.from({ length: n }, () => alpha[Math.floor(rand() * alpha.length)]).join("");
  return ["a".repeat(1000), " " + "a".repeat(777), "ab".repeat(600), rnd(3000, letters), rnd(2000, letters + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "supercalifragilisticexpialidocious".repeat(40), "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "1".repeat(1500), rnd(1500, "0123456789"), " ".repeat(1000), " ".repeat(999) + "x", "\n".repeat(500),
    "!".repeat(800), rnd(1000, "!@#$%^&*()_+-=[]{};:,./<>?"), "😀".repeat(200), "中".repeat(500),
    rnd(800, "αβγδεζηθικλμνξοπρστυφχψω"), "\u0000".repeat(300), "'s".repeat(300), "a'".repeat(300),
    rnd(1200, "ab "), "aaaa bbbb ".repeat(100), "x".repeat(300) + EOT + "y".repeat(300)];
}

// ---- random strings, seeded -----------------------------------------------------------------------
function mulberry32(seed) { // small, well-known PRNG; deterministic across node versions
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCases(rand, count) {
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const cp = (lo, hi) => String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
  const anyScalar = () => { // any Unicode scalar value (no surrogates: JS would turn them into U+FFFD)
    for (;;) {
      const plane = pick([0, 0, 0, 1, 1, 2, 3, 14, 15]);
      const c = plane * 0x10000 + Math.floor(rand() * 0x10000);
      if (c < 0xd800 || c > 0xdfff) return String.fromCodePoint(c);
    }
  };
  const pools = [
    () => cp(0x61, 0x7a), () => cp(0x41, 0x5a), () => cp(0x30, 0x39), () => " ", () => " ", () => "  ",
    () => pick(["\t", "\n", "\r\n", "\r", "\u000b", "\u000c", "\u0085", "\u00a0", "\u2003", "\u3000", "\u2028"]),
    () => pick(["!", "?", ".", ",", ";", ":", "-", "(", ")", "\"", "#", "/", "@", "_", "…", "—", "“", "”"]),
    () => "'" + pick(["s", "t", "re", "ve", "m", "ll", "d", "S", "T", "RE", "x", "", "'"]),
    () => "\u2019" + pick(["s", "t", "re"]),
    () => pick(["the", "The", " the", " of", " and", "ing", "tion", " hello", " world", "GPT", "token", "izer"]),
    () => cp(0xc0, 0x24f), () => cp(0x370, 0x3ff), () => cp(0x400, 0x4ff), () => cp(0x590, 0x5ff),
    () => cp(0x600, 0x6ff), () => cp(0x900, 0x97f), () => cp(0xe00, 0xe7f), () => cp(0x300, 0x36f),
    () => cp(0x3040, 0x30ff), () => cp(0x4e00, 0x9fff), () => cp(0xac00, 0xd7a3), () => cp(0xff00, 0xffef),
    () => cp(0x2000, 0x206f), () => cp(0x2150, 0x218f), () => cp(0x2460, 0x24ff), () => cp(0x1f300, 0x1faff),
    () => pick(["\u200d", "\ufe0f", "\u{1f3fb}", "\u{1f3ff}", "\u20e3"]), () => cp(0x0, 0x1f), () => cp(0x80, 0x9f),
    () => cp(0x10d40, 0x10d8f), () => cp(0x1d400, 0x1d7ff), () => cp(0x20000, 0x2a6df), () => cp(0x11f00, 0x11f5f),
    anyScalar, anyScalar, () => EOT, () => pick(["<|", "|>", "<|endoftext", "endoftext|>"]),
    () => cp(0x61, 0x7a).repeat(1 + Math.floor(rand() * 30)), () => " ".repeat(1 + Math.floor(rand() * 8)),
  ];
  const out = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rand() * (i % 10 === 0 ? 200 : 40));
    let s = "";
    for (let j = 0; j < n; j++) s += pick(pools)();
    out.push(s);
  }
  return out;
}

// Code points sampled over all planes in the pattern "X's": the result shows whether the regex
// engine counts X as a letter, number or white space (then "'s" is one piece) or as "other" (then X
// takes the apostrophe). Checks unicode_tables.h where it matters most.
function classSweep(rand, count, perCase) {
  const out = [];
  for (let i = 0; i < count; i++) {
    let s = "";
    for (let j = 0; j < perCase; j++) {
      let c;
      do c = Math.floor(rand() * 0x40000); while (c >= 0xd800 && c <= 0xdfff);
      s += String.fromCodePoint(c) + "'s ";
    }
    out.push(s);
  }
  return out;
}

// ---- write --------------------------------------------------------------------------------------
const rand = mulberry32(20240328);
const withVariants = (list) => list.flatMap((s) => [s, " " + s, s + "\n"]);
const cases = [
  ...withVariants(prose), ...contractionCases(), ...withVariants(numbers), ...spaces, ...withVariants(punct),
  ...code, ...withVariants(urls), ...withVariants(emoji), ...withVariants(scripts), ...withVariants(accents),
  ...withVariants(controls), ...withVariants(versions), ...eot, ...longCases(rand), ...randomCases(rand, 400),
  ...classSweep(rand, 100, 40),
];

const enc = get_encoding("gpt2");
const version = JSON.parse(readFileSync(new URL("./node_modules/tiktoken/package.json", import.meta.url))).version;
const lines = [
  `# tokenizer reference cases: ${cases.length}, made by test/tokenizer_fixtures.mjs with npm tiktoken ${version},`,
  `# get_encoding("gpt2").encode(text, ["${EOT}"]). Per line: UTF-8 bytes in hex ("-": empty), then the ids.`,
];
for (const text of cases) {
  const hex = Buffer.from(text, "utf8").toString("hex") || "-";
  const ids = Array.from(enc.encode(text, [EOT]));
  lines.push([hex, ...ids].join(" "));
}
writeFileSync(OUT, lines.join("\n") + "\n");
console.log(`wrote ${cases.length} cases to ${OUT.pathname}`);

// encode_ordinary: "<|endoftext|>" is text like any other (gpt2 --no-special), in the same format.
const ordinary = [...eot, ...withVariants(prose.slice(0, 4)), "x".repeat(300) + EOT + "y".repeat(300)];
const ordLines = [
  `# tokenizer reference cases: ${ordinary.length}, made by test/tokenizer_fixtures.mjs with npm tiktoken ${version},`,
  `# get_encoding("gpt2").encode_ordinary(text). Per line: UTF-8 bytes in hex ("-": empty), then the ids.`,
];
for (const text of ordinary) {
  const hex = Buffer.from(text, "utf8").toString("hex") || "-";
  ordLines.push([hex, ...Array.from(enc.encode_ordinary(text))].join(" "));
}
enc.free();
writeFileSync(ORDINARY_OUT, ordLines.join("\n") + "\n");
console.log(`wrote ${ordinary.length} cases to ${ORDINARY_OUT.pathname}`);

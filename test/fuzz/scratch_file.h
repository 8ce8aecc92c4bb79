// scratch_file.h: the one temporary file of a fuzz process, which each input is written into so that
// the loaders open it by name, as they open a user's file. mkstemp, not memfd_create: every POSIX
// system has it. The file is removed at exit.
#ifndef SCRATCH_FILE_H
#define SCRATCH_FILE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_path[64];

static void remove_scratch(void) { unlink(scratch_path); }

// The scratch file emptied and open for writing; its name is scratch_path.
static int scratch_file(void) {
    if (!scratch_path[0]) {
        snprintf(scratch_path, sizeof(scratch_path), "/tmp/gpt2_fuzz_XXXXXX");
        int fd = mkstemp(scratch_path);
        if (fd < 0) abort();
        close(fd);
        atexit(remove_scratch);
    }
    int fd = open(scratch_path, O_WRONLY | O_TRUNC);
    if (fd < 0) abort();
    return fd;
}

#endif

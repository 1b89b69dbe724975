/*
 * The library loaded with dlopen into a process whose static TLS surplus is small.
 *
 * The library's thread-locals use the initial-exec model, so a dlopen'ed copy takes its
 * TLS block from the small surplus the C library keeps at start-up for such libraries
 * (Python's ctypes, plugins). A large block makes dlopen fail with "cannot allocate
 * memory in static TLS block" once other libraries took part of the surplus. The test
 * re-executes itself with the surplus shrunk (glibc.rtld.optional_static_tls=0, which
 * leaves the part glibc reserves for libraries of its own kind), copies the library it
 * is linked against to a new file and dlopens that copy: a second load, which needs the
 * surplus. It also checks that the block stays within TLS_BUDGET bytes.
 */
#include "common.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

/* Largest PT_TLS size the library may have: a quarter of glibc's default optional
 * surplus (512 bytes), so that it loads next to other libraries with TLS. */
#define TLS_BUDGET 256

struct find {
    const char *path;
    size_t tls;
    int found;
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct find *f = arg;
    if (strcmp(info->dlpi_name, f->path) != 0)
        return 0;
    f->found = 1;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS)
            f->tls = info->dlpi_phdr[i].p_memsz;
    return 1;
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    CHECK(in >= 0);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    CHECK(out >= 0);
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        CHECK(write(out, buf, (size_t)n) == n);
    }
    close(in);
    CHECK(close(out) == 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("GS_TEST_TLS_CHILD") == NULL) {
        CHECK(setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=0", 1) == 0);
        CHECK(setenv("GS_TEST_TLS_CHILD", "1", 1) == 0);
        execv("/proc/self/exe", argv);
        FAIL("execv: %s", strerror(errno));
    }

    Dl_info info;
    CHECK(dladdr((void *)gs_version, &info) != 0 && info.dli_fname != NULL);
    struct find f = {info.dli_fname, 0, 0};
    dl_iterate_phdr(phdr_cb, &f);
    CHECK(f.found);
    printf("%s: PT_TLS %zu bytes (budget %d)\n", f.path, f.tls, TLS_BUDGET);
    if (f.tls > TLS_BUDGET)
        FAIL("the library's static TLS block is %zu bytes, over the budget of %d", f.tls,
             TLS_BUDGET);

    char dir[] = "/tmp/gs-dlopen-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char copy[sizeof dir + 32];
    snprintf(copy, sizeof copy, "%s/libgosched-copy.so", dir);
    copy_file(f.path, copy);

    void *h = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    const char *why = h ? NULL : dlerror();
    unlink(copy);
    rmdir(dir);
    if (h == NULL)
        FAIL("dlopen of a second copy with a small static TLS surplus: %s", why);
    const char *(*version)(void) = (const char *(*)(void))dlsym(h, "gs_version");
    const char *(*strerr)(int) = (const char *(*)(int))dlsym(h, "gs_strerror");
    CHECK(version != NULL && strerr != NULL);
    CHECK(strcmp(version(), gs_version()) == 0);
    CHECK(strcmp(strerr(GS_EINVAL), gs_strerror(GS_EINVAL)) == 0);
    printf("dlopen of a copy: ok, version %s\n", version());
    CHECK(dlclose(h) == 0);
    return 0;
}

/*
 * A test-side Mach-O dylib loader: what dyld does for the dylibs Maru writes, on Linux.
 * It validates the header and load commands, maps the segments at one slid base, applies the
 * LC_DYLD_INFO_ONLY rebase and bind opcodes (binding libSystem imports to this process's libc,
 * or, for arm64, variadic ones to shims that read their arguments the Apple way), finds exports
 * through the export trie only, and calls them. Built by the tests with gcc (osx-x64 dylibs run
 * natively) or aarch64-linux-gnu-gcc (osx-arm64 dylibs run under qemu-aarch64).
 *
 * Commands, one per line on stdin (results on stderr, one line each, in order):
 *   load PATH            -> "loaded" or "error MESSAGE"
 *   call NAME A1 ... An  -> "= RESULT" (n <= 10 integer arguments; "error ..." if NAME is not exported)
 *   output ID NAME A...  -> the same, and the call's stdout is framed on stdout by
 *                           "\2BEGIN ID\2" and "\2END ID\2"
 *   protections          -> "protections SEG PERMS ..." for every segment of the loaded image, as
 *                           the kernel reports its pages in /proc/self/maps (e.g. "__TEXT r-x";
 *                           "mixed" when its pages differ)
 * Like dyld, it maps each segment with its initprot after the fixups, and a segment flagged
 * SG_READ_ONLY (__DATA_CONST) read-only once its fixups are applied.
 * A crash of the called code prints "crash SIGNAL" on stderr and exits with status 3.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MH_MAGIC_64 0xfeedfacfu
#define MH_DYLIB 6u
#define LC_SEGMENT_64 0x19u
#define LC_DYLD_INFO_ONLY 0x80000022u
#define LC_CODE_SIGNATURE 0x1du
#define LC_LOAD_DYLIB 0xcu
#define LC_ID_DYLIB 0xdu
#define SG_READ_ONLY 0x10u

#if defined(__x86_64__)
#define HOST_CPU 0x01000007u
#elif defined(__aarch64__)
#define HOST_CPU 0x0100000cu
#endif

typedef struct { uint64_t vmaddr, vmsize, fileoff, filesize; uint32_t maxprot, initprot, flags; char name[17]; } segment_t;

static struct {
    uint8_t *file; size_t size;
    uint8_t *base; uint64_t span;
    segment_t seg[16]; int nseg;
    uint32_t export_off, export_size;
} image;

static char failure[256];

static int fail(const char *what) { snprintf(failure, sizeof failure, "%s", what); return -1; }

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int uleb(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t value = 0; int shift = 0;
    for (;;) {
        if (*p >= end || shift > 63) return fail("ULEB128 runs past its table");
        uint8_t b = *(*p)++;
        value |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
    }
    *out = value;
    return 0;
}

#if defined(__aarch64__)
/* Apple arm64 passes every variadic argument on the stack, one 8-byte slot each. The shims are
 * entered with sp at those slots; they hand the slots to C, which forwards them to the host's
 * AAPCS64 printf family. An argument passed in a register instead is simply not seen. */
long apple_printf_impl(const char *fmt, const long *a) { return printf(fmt, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]); }
long apple_sprintf_impl(char *s, const char *fmt, const long *a) { return sprintf(s, fmt, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]); }
long apple_fprintf_impl(FILE *f, const char *fmt, const long *a) { return fprintf(f, fmt, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]); }
long apple_snprintf_impl(char *s, size_t n, const char *fmt, const long *a) { return snprintf(s, n, fmt, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]); }
long apple_printf(const char *, ...);
long apple_sprintf(char *, const char *, ...);
long apple_fprintf(FILE *, const char *, ...);
long apple_snprintf(char *, size_t, const char *, ...);
__asm__(
    ".text\n"
    ".globl apple_printf\n apple_printf: mov x1, sp\n b apple_printf_impl\n"
    ".globl apple_sprintf\n apple_sprintf: mov x2, sp\n b apple_sprintf_impl\n"
    ".globl apple_fprintf\n apple_fprintf: mov x2, sp\n b apple_fprintf_impl\n"
    ".globl apple_snprintf\n apple_snprintf: mov x3, sp\n b apple_snprintf_impl\n");
static const struct { const char *name; void *address; } shims[] = {
    { "printf", (void *)apple_printf }, { "sprintf", (void *)apple_sprintf },
    { "fprintf", (void *)apple_fprintf }, { "snprintf", (void *)apple_snprintf },
};
#endif

static void *resolve(const char *symbol)
{
    if (symbol[0] != '_') return NULL; /* C symbols carry the leading underscore */
    const char *name = symbol + 1;
#if defined(__aarch64__)
    for (size_t i = 0; i < sizeof shims / sizeof shims[0]; i++)
        if (strcmp(shims[i].name, name) == 0) return shims[i].address;
#endif
    return dlsym(RTLD_DEFAULT, name);
}

/* The place a fixup names must be a pointer inside a writable segment's file-backed part. */
static uint64_t *fixup_place(int segment, uint64_t offset)
{
    if (segment < 0 || segment >= image.nseg) { fail("fixup names a missing segment"); return NULL; }
    segment_t *s = &image.seg[segment];
    if (!(s->initprot & 2)) { fail("fixup in a read-only segment"); return NULL; }
    if (offset > s->vmsize || s->vmsize - offset < 8) { fail("fixup outside its segment"); return NULL; }
    return (uint64_t *)(image.base + s->vmaddr + offset);
}

static int rebase(const uint8_t *p, const uint8_t *end)
{
    int segment = -1; uint64_t offset = 0;
    while (p < end) {
        uint8_t op = *p & 0xf0, imm = *p & 0x0f; p++;
        uint64_t n, skip;
        switch (op) {
        case 0x00: return 0; /* DONE */
        case 0x10: if (imm != 1) return fail("rebase type is not pointer"); break;
        case 0x20: segment = imm; if (uleb(&p, end, &offset)) return -1; break;
        case 0x30: if (uleb(&p, end, &n)) return -1; offset += n; break;
        case 0x40: offset += imm * 8u; break;
        case 0x50: case 0x60: case 0x70: case 0x80:
            if (op == 0x50) { n = imm; skip = 0; }
            else if (op == 0x60) { if (uleb(&p, end, &n)) return -1; skip = 0; }
            else if (op == 0x70) { n = 1; if (uleb(&p, end, &skip)) return -1; }
            else { if (uleb(&p, end, &n) || uleb(&p, end, &skip)) return -1; }
            for (uint64_t i = 0; i < n; i++) {
                uint64_t *place = fixup_place(segment, offset);
                if (!place) return -1;
                *place += (uint64_t)(uintptr_t)image.base;
                offset += 8 + skip;
            }
            break;
        default: return fail("unknown rebase opcode");
        }
    }
    return fail("rebase opcodes do not end with DONE");
}

static int bind(const uint8_t *p, const uint8_t *end)
{
    int segment = -1, ordinal = 0; uint64_t offset = 0; const char *symbol = NULL;
    while (p < end) {
        uint8_t op = *p & 0xf0, imm = *p & 0x0f; p++;
        uint64_t n;
        switch (op) {
        case 0x00: return 0;
        case 0x10: ordinal = imm; break;
        case 0x40:
            symbol = (const char *)p;
            while (p < end && *p) p++;
            if (p >= end) return fail("bind symbol name runs past the table");
            p++;
            break;
        case 0x50: if (imm != 1) return fail("bind type is not pointer"); break;
        case 0x70: segment = imm; if (uleb(&p, end, &offset)) return -1; break;
        case 0x80: if (uleb(&p, end, &n)) return -1; offset += n; break;
        case 0x90: {
            if (ordinal != 1) return fail("bind names a library other than libSystem");
            if (!symbol) return fail("bind without a symbol");
            uint64_t *place = fixup_place(segment, offset);
            if (!place) return -1;
            void *address = resolve(symbol);
            if (!address) { snprintf(failure, sizeof failure, "unresolved import %s", symbol); return -1; }
            *place = (uint64_t)(uintptr_t)address;
            offset += 8;
            break;
        }
        default: return fail("unsupported bind opcode");
        }
    }
    return fail("bind opcodes do not end with DONE");
}

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fail("cannot open the file");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *file = malloc(size > 0 ? (size_t)size : 1);
    if (size < 32 || fread(file, 1, (size_t)size, f) != (size_t)size) { fclose(f); return fail("short file"); }
    fclose(f);
    memset(&image, 0, sizeof image);
    image.file = file; image.size = (size_t)size;

    if (rd32(file) != MH_MAGIC_64) return fail("bad magic");
    if (rd32(file + 4) != HOST_CPU) return fail("CPU type is not this machine's");
    if (rd32(file + 12) != MH_DYLIB) return fail("not MH_DYLIB");
    uint32_t ncmds = rd32(file + 16), sizeofcmds = rd32(file + 20);
    if (32 + (uint64_t)sizeofcmds > image.size) return fail("load commands run past the file");
    uint32_t rebase_off = 0, rebase_size = 0, bind_off = 0, bind_size = 0, sig_off = 0, sig_size = 0;
    int has_id = 0, has_libsystem = 0;
    const uint8_t *cmd = file + 32, *cmds_end = file + 32 + sizeofcmds;
    for (uint32_t i = 0; i < ncmds; i++) {
        if (cmds_end - cmd < 8) return fail("load command runs past sizeofcmds");
        uint32_t type = rd32(cmd), cmdsize = rd32(cmd + 4);
        if (cmdsize < 8 || cmdsize % 8 || cmdsize > (uint64_t)(cmds_end - cmd)) return fail("bad cmdsize");
        if (type == LC_SEGMENT_64) {
            if (image.nseg == 16) return fail("too many segments");
            segment_t *s = &image.seg[image.nseg++];
            memcpy(s->name, cmd + 8, 16);
            s->vmaddr = rd64(cmd + 24); s->vmsize = rd64(cmd + 32);
            s->fileoff = rd64(cmd + 40); s->filesize = rd64(cmd + 48);
            s->maxprot = rd32(cmd + 56); s->initprot = rd32(cmd + 60);
            uint32_t nsects = rd32(cmd + 64);
            s->flags = rd32(cmd + 68);
            if (s->initprot & ~s->maxprot) return fail("segment initprot exceeds its maxprot");
            if ((s->maxprot & 2) && (s->maxprot & 4)) return fail("segment is both writable and executable");
            if (72 + (uint64_t)nsects * 80 != cmdsize) return fail("segment cmdsize does not match nsects");
            if (s->fileoff > image.size || s->filesize > image.size - s->fileoff) return fail("segment runs past the file");
            if (s->filesize > s->vmsize) return fail("segment filesize exceeds vmsize");
            if (s->vmaddr % 4096 || s->fileoff % 4096) return fail("segment not page aligned");
            for (uint32_t k = 0; k < nsects; k++) {
                const uint8_t *sect = cmd + 72 + k * 80;
                uint64_t addr = rd64(sect + 32), sz = rd64(sect + 40);
                if (addr < s->vmaddr || addr + sz > s->vmaddr + s->vmsize) return fail("section outside its segment");
            }
            if (s->vmaddr + s->vmsize > image.span) image.span = s->vmaddr + s->vmsize;
        } else if (type == LC_DYLD_INFO_ONLY) {
            rebase_off = rd32(cmd + 8); rebase_size = rd32(cmd + 12);
            bind_off = rd32(cmd + 16); bind_size = rd32(cmd + 20);
            if (rd32(cmd + 28) || rd32(cmd + 36)) return fail("weak or lazy binds are not expected");
            image.export_off = rd32(cmd + 40); image.export_size = rd32(cmd + 44);
        } else if (type == LC_CODE_SIGNATURE) {
            sig_off = rd32(cmd + 8); sig_size = rd32(cmd + 12);
        } else if (type == LC_ID_DYLIB) {
            has_id++;
        } else if (type == LC_LOAD_DYLIB) {
            if (strcmp((const char *)cmd + rd32(cmd + 8), "/usr/lib/libSystem.B.dylib") == 0) has_libsystem = 1;
        }
        cmd += cmdsize;
    }
    if (cmd != cmds_end) return fail("load commands do not fill sizeofcmds");
    if (has_id != 1) return fail("not exactly one LC_ID_DYLIB");
    if (!has_libsystem) return fail("no LC_LOAD_DYLIB of libSystem");
    if (!sig_off || (uint64_t)sig_off + sig_size != image.size || sig_off % 16) return fail("the code signature is not the 16-byte aligned end of the file");
    if ((uint64_t)rebase_off + rebase_size > image.size || (uint64_t)bind_off + bind_size > image.size
        || (uint64_t)image.export_off + image.export_size > image.size) return fail("dyld info runs past the file");
    if (image.nseg == 0 || image.seg[0].fileoff != 0) return fail("the first segment does not map the header");

    image.base = mmap(NULL, image.span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (image.base == MAP_FAILED) return fail("mmap failed");
    for (int i = 0; i < image.nseg; i++)
        memcpy(image.base + image.seg[i].vmaddr, file + image.seg[i].fileoff, image.seg[i].filesize);
    if (rebase_size && rebase(file + rebase_off, file + rebase_off + rebase_size)) return -1;
    if (bind_size && bind(file + bind_off, file + bind_off + bind_size)) return -1;
    for (int i = 0; i < image.nseg; i++) {
        uint32_t final = image.seg[i].initprot;
        if (image.seg[i].flags & SG_READ_ONLY) final &= ~2u; /* dyld: read-only once fixed up */
        int prot = (final & 1 ? PROT_READ : 0) | (final & 2 ? PROT_WRITE : 0) | (final & 4 ? PROT_EXEC : 0);
        uint64_t length = (image.seg[i].vmsize + 4095) / 4096 * 4096;
        if (!length) continue;
        if (final & 4) {
            if (image.seg[i].filesize != image.seg[i].vmsize) return fail("code segment is not all file-backed");
            /* Code is mapped from the file, as dyld does (a file-backed mapping of its own, so the
             * kernel, and qemu's /proc/self/maps, report it apart from the anonymous data pages). */
            int fd = open(path, O_RDONLY);
            if (fd < 0) return fail("cannot reopen the file to map code");
            void *code = mmap(image.base + image.seg[i].vmaddr, length, prot, MAP_PRIVATE | MAP_FIXED, fd, (off_t)image.seg[i].fileoff);
            close(fd);
            if (code == MAP_FAILED) return fail("mmap of code failed");
        } else if (mprotect(image.base + image.seg[i].vmaddr, length, prot)) {
            return fail("mprotect failed");
        }
    }
    __builtin___clear_cache((char *)image.base, (char *)image.base + image.span);
    return 0;
}

/* Looks NAME up the way dyld does: walk the export trie from its root. */
static void *export_address(const char *symbol)
{
    const uint8_t *trie = image.file + image.export_off, *end = trie + image.export_size;
    const uint8_t *node = trie;
    const char *rest = symbol;
    for (int depth = 0; depth < 4096; depth++) {
        const uint8_t *p = node;
        uint64_t terminal;
        if (uleb(&p, end, &terminal)) return NULL;
        if (*rest == 0) {
            if (!terminal) return NULL;
            uint64_t flags, address;
            if (uleb(&p, end, &flags) || uleb(&p, end, &address)) return NULL;
            if (flags != 0 || address >= image.span) { fail("bad export entry"); return NULL; }
            return image.base + address;
        }
        if (terminal > (uint64_t)(end - p)) { fail("terminal runs past the trie"); return NULL; }
        p += terminal;
        if (p >= end) { fail("trie node runs past the trie"); return NULL; }
        int children = *p++;
        const uint8_t *next = NULL;
        for (int c = 0; c < children; c++) {
            const char *label = (const char *)p;
            size_t length = strnlen(label, (size_t)(end - p));
            if (p + length >= end) { fail("edge label runs past the trie"); return NULL; }
            p += length + 1;
            uint64_t child;
            if (uleb(&p, end, &child)) return NULL;
            if (child >= image.export_size) { fail("child offset outside the trie"); return NULL; }
            if (!next && strncmp(rest, label, length) == 0) { next = trie + child; rest += length; }
        }
        if (!next) return NULL;
        node = next;
    }
    fail("export trie too deep");
    return NULL;
}

/* The permissions the kernel reports for the pages of [start, end): "r-x", or "mixed"/"unmapped". */
static void observed(uintptr_t start, uintptr_t end, char perms[8])
{
    strcpy(perms, "unmapped");
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) { strcpy(perms, "no-maps"); return; }
    char line[512];
    int seen = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long from, to; char p[5];
        if (sscanf(line, "%lx-%lx %4s", &from, &to, p) != 3 || to <= start || from >= end) continue;
        p[3] = 0;
        if (!seen) { strcpy(perms, p); seen = 1; }
        else if (strcmp(perms, p) != 0) strcpy(perms, "mixed");
    }
    fclose(maps);
}

static void protections(void)
{
    fprintf(stderr, "protections");
    for (int i = 0; i < image.nseg; i++) {
        char perms[16];
        uintptr_t start = (uintptr_t)image.base + image.seg[i].vmaddr;
        observed(start, start + (image.seg[i].vmsize + 4095) / 4096 * 4096, perms);
        fprintf(stderr, " %s %s", image.seg[i].name, perms);
    }
    fprintf(stderr, "\n");
}

typedef long (*fn10)(long, long, long, long, long, long, long, long, long, long);

static void crashed(int signal)
{
    char message[32];
    int n = snprintf(message, sizeof message, "crash %d\n", signal);
    fflush(stdout);
    if (write(2, message, (size_t)n) < 0) _exit(4);
    _exit(3);
}

static void *run(void *unused)
{
    (void)unused;
    char line[4096];
    int loaded = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char *save = NULL, *word = strtok_r(line, " ", &save);
        if (!word) continue;
        if (strcmp(word, "load") == 0) {
            char *path = strtok_r(NULL, "", &save);
            loaded = path && load(path) == 0;
            if (loaded) fprintf(stderr, "loaded\n"); else fprintf(stderr, "error %s\n", failure);
            continue;
        }
        if (strcmp(word, "protections") == 0) {
            if (loaded) protections(); else fprintf(stderr, "error nothing loaded\n");
            continue;
        }
        int output = strcmp(word, "output") == 0;
        char *id = output ? strtok_r(NULL, " ", &save) : NULL;
        char *name = strtok_r(NULL, " ", &save);
        long a[10] = {0};
        int n = 0;
        for (char *arg; n < 10 && (arg = strtok_r(NULL, " ", &save));) a[n++] = strtoll(arg, NULL, 10);
        void *f = loaded && name ? export_address(name) : NULL;
        if (!f) { fprintf(stderr, "error no export %s\n", name ? name : "?"); continue; }
        if (output) { printf("\2BEGIN %s\2", id); fflush(stdout); }
        long result = ((fn10)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
        if (output) { fflush(stdout); printf("\2END %s\2", id); fflush(stdout); }
        fprintf(stderr, "= %ld\n", result);
    }
    return NULL;
}

int main(void)
{
    setvbuf(stderr, NULL, _IOLBF, 0);
    signal(SIGSEGV, crashed);
    signal(SIGBUS, crashed);
    signal(SIGILL, crashed);
    signal(SIGFPE, crashed);
    /* Deep recursion in compiled code must test the code, not this loader's stack. */
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, (size_t)512 << 20);
    pthread_t thread;
    if (pthread_create(&thread, &attributes, run, NULL)) return 5;
    pthread_join(thread, NULL);
    fflush(stdout);
    return 0;
}

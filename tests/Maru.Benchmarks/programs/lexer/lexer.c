/* lexer: a tokenizer's scanning loop over a malloc'd 1 MiB buffer of pseudo-text (bytes drawn
   by an LCG from a 64-character alphabet), one byte at a time through a switch-like if chain:
   identifiers are hashed, numbers parsed, parentheses nested, comments and strings skipped.
   bench(n) = a mix of the token statistics over n/1MiB scans of the buffer. */
#include <stdlib.h>

static const char *alphabet = "abcdefghijklmnopqrstuvwxyzabcdefghij0123456789      \n\n(())+-*/;\"";

static long lex(const unsigned char *buf, long size)
{
    long i = 0, tokens = 0, numbers = 0, num = 0, innum = 0, ident = 0, inid = 0, idents = 0;
    long depth = 0, maxdepth = 0, lines = 0, ops = 0, strings = 0;
    while (i < size) {
        long c = buf[i];
        if (c >= 'a' && c <= 'z') {
            if (innum) {
                numbers = numbers + num;
                num = 0;
                innum = 0;
                tokens = tokens + 1;
            }
            ident = (ident * 31 + c) & 281474976710655L;
            inid = 1;
        } else if (c >= '0' && c <= '9') {
            if (inid)
                ident = (ident * 31 + c) & 281474976710655L;
            else {
                num = (num * 10 + (c - '0')) & 1073741823L;
                innum = 1;
            }
        } else {
            if (innum) {
                numbers = numbers + num;
                num = 0;
                innum = 0;
                tokens = tokens + 1;
            }
            if (inid) {
                idents = idents ^ ident;
                ident = 0;
                inid = 0;
                tokens = tokens + 1;
            }
            if (c == ' ') {
            } else if (c == '\n') {
                lines = lines + 1;
            } else if (c == '(') {
                depth = depth + 1;
                if (depth > maxdepth)
                    maxdepth = depth;
            } else if (c == ')') {
                depth = depth - 1;
            } else if (c == ';') {
                while (i + 1 < size && buf[i + 1] != '\n')
                    i = i + 1;
            } else if (c == '"') {
                i = i + 1;
                while (i < size && buf[i] != '"')
                    i = i + 1;
                strings = strings + 1;
                tokens = tokens + 1;
            } else {
                ops = ops + 1;
                tokens = tokens + 1;
            }
        }
        i = i + 1;
    }
    return tokens * 1000003 + ((numbers ^ idents) + (lines * 7 + (maxdepth * 65537 + (depth * 257 + (ops * 3 + strings * 11)))));
}

long bench(long n)
{
    long size = 1048576;
    unsigned char *buf = malloc(1048576);
    unsigned long x = 2024;
    long total = 0;
    for (long i = 0; i < size; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        buf[i] = (unsigned char)alphabet[(x >> 58) & 63];
    }
    for (long r = 0; r < n / size; r++)
        total = (long)(((unsigned long)total + (unsigned long)lex(buf, size) * (unsigned long)(r + 1)) & 4611686018427387903UL);
    free(buf);
    return total;
}

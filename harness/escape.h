/* SPDX-License-Identifier: MIT */
/*
 * Text from outside (a plugin's output, names in an ELF object, messages)
 * made safe for where it goes: a terminal line, a JSON string, XML 1.0.
 * Input is any bytes; valid UTF-8 is kept, everything else is escaped or
 * replaced, so the output is always valid for its format.
 */
#ifndef BPFDIFF_ESCAPE_H
#define BPFDIFF_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (1..4) and its code point, or 0
 * when the bytes there are not one (overlong forms and surrogates included). */
int bd_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp);

/* For a terminal line: control characters (C0, DEL, C1) and bytes that are not
 * UTF-8 become \xNN; a backslash stays. Always NUL-terminated, truncated to dstlen. */
void bd_escape_ctl(char *dst, size_t dstlen, const char *src);
/* In place, within the buffer's size (escapes may truncate the end). */
void bd_escape_ctl_inplace(char *buf, size_t size);
/* The same to a stream, keeping newlines (a multi-line report). */
void bd_fputs_escaped(FILE *f, const char *s);
/* The same on one line: each line break (and the blanks after it) becomes one space. */
void bd_fputs_oneline(FILE *f, const char *s);

/* A JSON string with its quotes: valid UTF-8; control characters as \uXXXX,
 * each byte that is not UTF-8 as U+FFFD. */
void bd_json_str(FILE *f, const char *s);

/* XML 1.0 character data or attribute value (quotes escaped): characters XML
 * 1.0 forbids (C0 controls but tab and newline, U+FFFE/U+FFFF) are written as
 * the text "\xNN"; bytes that are not UTF-8 as U+FFFD. */
void bd_xml_str(FILE *f, const char *s);

#endif

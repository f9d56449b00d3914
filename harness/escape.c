/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"

int bd_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp)
{
	if (!avail)
		return 0;
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	int n;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	if ((size_t)n > avail)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool is_ctl(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

void bd_escape_ctl(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	if (!dstlen)
		return;
	size_t o = 0, len = strlen(src);
	const unsigned char *s = (const unsigned char *)src;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		int n = bd_utf8_decode(s + i, len - i, &cp);
		if (n && !is_ctl(cp)) {
			if (o + (size_t)n >= dstlen)
				break;
			memcpy(dst + o, s + i, (size_t)n);
			o += (size_t)n;
			i += (size_t)n;
			continue;
		}
		/* A C1 control (2 bytes in UTF-8) or a stray byte: each byte as \xNN. */
		size_t nb = n ? (size_t)n : 1;
		if (o + 4 * nb >= dstlen)
			break;
		for (size_t k = 0; k < nb; k++) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[s[i + k] >> 4];
			dst[o++] = hex[s[i + k] & 15];
		}
		i += nb;
	}
	dst[o] = 0;
}

void bd_fputs_escaped(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);
	for (size_t i = 0; i < len;) {
		unsigned cp;
		int n = bd_utf8_decode(s + i, len - i, &cp);
		if (n && (!is_ctl(cp) || cp == '\n')) {
			fwrite(s + i, 1, (size_t)n, f);
			i += (size_t)n;
			continue;
		}
		size_t nb = n ? (size_t)n : 1;
		for (size_t k = 0; k < nb; k++)
			fprintf(f, "\\x%02x", s[i + k]);
		i += nb;
	}
}

void bd_fputs_oneline(FILE *f, const char *str)
{
	for (const char *s = str; *s;) {
		size_t n = strcspn(s, "\n");
		char *line = strndup(s, n);
		if (line)
			bd_fputs_escaped(f, line);
		free(line);
		s += n;
		if (*s) {
			while (*s == '\n' || *s == ' ')
				s++;
			if (*s)
				fputc(' ', f);
		}
	}
}

void bd_escape_ctl_inplace(char *buf, size_t size)
{
	char tmp[4096];
	if (!size || size > sizeof(tmp))
		return;
	bd_escape_ctl(tmp, size, buf);
	memcpy(buf, tmp, strlen(tmp) + 1);
}

void bd_json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s);
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned cp;
		int n = bd_utf8_decode(s + i, len - i, &cp);
		if (!n) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (is_ctl(cp) || cp == 0x2028 || cp == 0x2029) /* the last two break JavaScript parsers */
			fprintf(f, "\\u%04x", cp);
		else
			fwrite(s + i, 1, (size_t)n, f);
		i += (size_t)n;
	}
	fputc('"', f);
}

void bd_xml_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s);
	for (size_t i = 0; i < len;) {
		unsigned cp;
		int n = bd_utf8_decode(s + i, len - i, &cp);
		if (!n) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			i++;
			continue;
		}
		switch (cp) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\n':
		case '\t': fputc((int)cp, f); break;
		case '\r': fputs("&#xd;", f); break;
		default:
			if (cp < 0x20)
				fprintf(f, "\\x%02x", cp);
			else if (cp == 0xfffe || cp == 0xffff)
				fputs("\xef\xbf\xbd", f);
			else
				fwrite(s + i, 1, (size_t)n, f);
		}
		i += (size_t)n;
	}
}

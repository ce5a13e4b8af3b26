/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTML report's escaping (export_html.c): its JSON data islands and the
 * text it writes into the page itself.
 *  - lp_html_json_island: no '<', '>' or '&' left (so "</script>" or "<!--"
 *    in a string cannot end the island), quotes kept as JSON escapes, bytes
 *    that are not UTF-8 as U+FFFD, and the same document once parsed;
 *  - a whole export of a synthetic build from a file named
 *    ".../x</script>\xff<!--\"c'&.lprof": the page is valid UTF-8, has
 *    exactly its three </script> tags and no comment, the name is
 *    HTML-escaped in <title> and the header, and the report island parses
 *    and holds it (the bad byte as U+FFFD);
 *  - --metric bytes or ops is refused (the page's flame graph is of time).
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../exports/synth.h"
#include "commands.h"
#include "exitcode.h"
#include "export.h"
#include "util.h"
#include "clean_utf8.h"


/* The island of a one-string document {"p": s}, parsed back: the string. */
static char *round_trip(const char *s, char **island)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "p", s);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	struct lp_buf b = { 0 };
	lp_html_json_island(&b, json);
	free(json);
	cr_assert_not_null(b.data);
	cr_assert(clean_utf8(b.data, b.len), "island is not clean UTF-8: %s", b.data);
	cr_assert_null(strpbrk(b.data, "<>&"), "a raw <, > or & is left: %s", b.data);
	cJSON *back = cJSON_Parse(b.data);
	cr_assert_not_null(back, "island is not JSON: %s", b.data);
	char *out = strdup(cJSON_GetObjectItemCaseSensitive(back, "p")->valuestring);
	cJSON_Delete(back);
	*island = b.data;
	return out;
}

Test(export_html, island_cannot_be_closed_by_its_data)
{
	char *isl;
	const char *s = "/app/</script><script>alert(1)</script><!-- x --></SCRIPT >&amp;";
	char *back = round_trip(s, &isl);
	cr_assert_str_eq(back, s);
	cr_assert_null(strcasestr(isl, "</script"));
	cr_assert_null(strstr(isl, "<!--"));
	cr_assert_not_null(strstr(isl, "\\u003c/script\\u003e"), "'<' and '>' are \\u escapes: %s", isl);
	free(back);
	free(isl);
}

Test(export_html, island_keeps_quotes_and_backslashes)
{
	char *isl;
	const char *s = "say \"hi\" & 'bye' \\ C:\\path";
	char *back = round_trip(s, &isl);
	cr_assert_str_eq(back, s);
	cr_assert_not_null(strstr(isl, "\\\"hi\\\""), "double quotes stay JSON escapes: %s", isl);
	cr_assert_not_null(strstr(isl, "'bye'"), "single quotes need nothing: %s", isl);
	cr_assert_not_null(strstr(isl, "\\u0026"), "& is an escape: %s", isl);
	free(back);
	free(isl);
}

Test(export_html, island_replaces_bytes_that_are_not_utf8)
{
	char *isl;
	/* a lone 0xff, a good é, a cut 3-byte sequence, DEL, a good 4-byte emoji */
	char *back = round_trip("a\xff" "b\xc3\xa9" "c\xe2\x82" "d\x7f" "e\xf0\x9f\x90\xb3", &isl);
	cr_assert_str_eq(back, "a\xef\xbf\xbd" "b\xc3\xa9" "c\xef\xbf\xbd\xef\xbf\xbd" "d\x7f" "e\xf0\x9f\x90\xb3");
	cr_assert_not_null(strstr(isl, "\\u007f"), "DEL is an escape: %s", isl);
	free(back);
	free(isl);
}

Test(export_html, island_of_nothing_is_null)
{
	struct lp_buf b = { 0 };
	lp_html_json_island(&b, NULL);
	cr_assert_str_eq(b.data, "null");
	lp_buf_free(&b);
}

/* ------------------------------------------------------- a whole page */

static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	cr_assert_not_null(f, "cannot open %s", p);
	struct stat st;
	fstat(fileno(f), &st);
	char *b = malloc((size_t)st.st_size + 1);
	size_t n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	b[n] = 0;
	*len = n;
	return b;
}

/* A subcommand with its stdout into file out. */
static int run_to(int (*cmd)(int, char **), int argc, char **argv, const char *out)
{
	fflush(stdout);
	int saved = dup(1);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	int rc = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static int export_quiet(const char *trace, const char *out)
{
	char *argv[] = { "export", (char *)trace, "-o", (char *)out, NULL };
	return run_to(cmd_export, 4, argv, "/dev/null");
}

static int report_json_to(const char *trace, const char *out)
{
	char *argv[] = { "report", (char *)trace, "--json", NULL };
	return run_to(cmd_report, 3, argv, out);
}

/* The text between <script type="application/json" id="ID"> and </script>. */
static char *island_of(const char *page, const char *id)
{
	char open[128];
	snprintf(open, sizeof(open), "<script type=\"application/json\" id=\"%s\">", id);
	const char *a = strstr(page, open);
	cr_assert_not_null(a, "no %s island", id);
	a += strlen(open);
	const char *z = strstr(a, "</script>");
	cr_assert_not_null(z);
	return strndup(a, (size_t)(z - a));
}

Test(export_html, hostile_strings_stay_in_their_place)
{
	char dir[] = "/tmp/lp-test-html.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	/* the trace's own name goes into the page three times: the report
	 * island's "file", <title> (its base name), the header (in full) */
	char sub[256], trace[512], out[512];
	snprintf(sub, sizeof(sub), "%s/x<", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(trace, sizeof(trace), "%s/script>\xff<!--\"c'&.lprof", sub);
	snprintf(out, sizeof(out), "%s/report.html", dir);
	struct synth_opts o = { .variant = 'B', .tiny_lookups = 5, .evil = 1 };
	cr_assert_eq(synth_write(trace, &o), 0);
	cr_assert_eq(export_quiet(trace, out), 0);

	size_t n;
	char *page = slurp(out, &n);
	cr_assert(clean_utf8(page, n), "the page is not clean UTF-8");
	size_t closes = 0;
	for (const char *p = page; (p = strcasestr(p, "</script")); p++)
		closes++;
	cr_assert_eq(closes, 3, "two data islands and the script: %zu </script>", closes);
	cr_assert_null(strstr(page, "<!--"), "a comment opens in the page");
	cr_assert_not_null(strstr(page, "<title>layerprof report: script&gt;?&lt;!--&quot;c&#39;&amp;.lprof</title>"),
			   "the trace's name is HTML-escaped in the title");
	cr_assert_not_null(strstr(page, "/x&lt;/script&gt;?&lt;!--&quot;c&#39;&amp;.lprof</span>"),
			   "the trace's path is HTML-escaped in the header");

	char *isl = island_of(page, "lp-report");
	cJSON *doc = cJSON_Parse(isl);
	cr_assert_not_null(doc, "the report island is not JSON");
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "schema")->valuestring, "layerprof.report/1");
	char want[300];
	snprintf(want, sizeof(want), "%s/script>\xef\xbf\xbd<!--\"c'&.lprof", sub);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(doc, "file")->valuestring, want);
	/* and the rest is `report --json`'s document */
	char rep[512];
	snprintf(rep, sizeof(rep), "%s/report.json", dir);
	cr_assert_eq(report_json_to(trace, rep), 0);
	char *rtxt = slurp(rep, &n);
	cJSON *rdoc = cJSON_Parse(rtxt);
	cr_assert_not_null(rdoc);
	cJSON_DeleteItemFromObjectCaseSensitive(rdoc, "file");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "file");
	cr_assert(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "steps")) > 0);
	cr_assert(cJSON_Compare(doc, rdoc, true), "the island is not report --json's document");
	cJSON_Delete(rdoc);
	free(rtxt);
	cJSON_Delete(doc);
	free(isl);

	isl = island_of(page, "lp-flame");
	doc = cJSON_Parse(isl);
	cr_assert_not_null(doc, "the flame island is not JSON: %.200s", isl);
	cJSON_Delete(doc);
	free(isl);
	free(page);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(export_html, metric_other_than_time_is_refused)
{
	char dir[] = "/tmp/lp-test-html.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char trace[300], out[300];
	snprintf(trace, sizeof(trace), "%s/b.lprof", dir);
	snprintf(out, sizeof(out), "%s/b.html", dir);
	struct synth_opts o = { .variant = 'B' };
	cr_assert_eq(synth_write(trace, &o), 0);
	char *argv[] = { "export", trace, "-o", out, "--metric", "bytes", NULL };
	cr_assert_eq(run_to(cmd_export, 6, argv, "/dev/null"), LP_EXIT_USAGE);
	cr_assert_neq(access(out, F_OK), 0, "a page was written anyway");
	char *argv2[] = { "export", trace, "-o", out, "--metric", "time", NULL };
	cr_assert_eq(run_to(cmd_export, 6, argv2, "/dev/null"), 0);
	cr_assert_eq(access(out, F_OK), 0);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

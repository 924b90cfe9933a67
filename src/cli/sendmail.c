/*
 * sendmail - the `devmail sendmail` injector; see sendmail.h.
 *
 * The whole message is read first (recipients may come from its headers,
 * and a refused recipient must not leave half a message behind); then one
 * SMTP transaction over a plain blocking socket. Every recipient must be
 * accepted or nothing is sent: the caller gets a non-zero status and the
 * server's reply, and may retry.
 */
#include "cli/sendmail.h"

#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "cli/cli_config.h"
#include "core/buf.h"
#include "core/xalloc.h"
#include "net/net.h"

/* Bytes read from standard input beyond the configured message size
 * limit before giving up (the server would refuse it anyway). */
#define SENDMAIL_INPUT_SLACK (1024 * 1024)

struct sendmail_opts {
    bool extract;      /* -t */
    bool dot_ends;     /* no -i: a lone "." ends the message */
    bool verbose;      /* -v */
    const char *from;  /* -f / -r */
    const char *fullname; /* -F */
    char **rcpts;      /* command-line recipients */
    int nrcpts;
    char **cfg_args;   /* -c FILE and --key value, for cli_load_config */
    int ncfg;
};

struct rcpt_list {
    char **v;
    size_t n;
};

static void rcpt_add(struct rcpt_list *l, const char *addr) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcasecmp(l->v[i], addr)) return;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(addr);
}

static void rcpt_free(struct rcpt_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* Addresses of an RFC 5322 address list ("A <a@x>, b@y, grp: c@z;"). */
static void addresses_from(const char *text, struct rcpt_list *out) {
    InternetAddressList *list = internet_address_list_parse(NULL, text);
    if (!list) return;
    for (int i = 0; i < internet_address_list_length(list); i++) {
        InternetAddress *a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(a)) {
            /* RFC 5322 groups do not nest: one level is all there is */
            InternetAddressList *members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
            for (int k = 0; members && k < internet_address_list_length(members); k++) {
                InternetAddress *m = internet_address_list_get_address(members, k);
                if (INTERNET_ADDRESS_IS_MAILBOX(m)) {
                    const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(m));
                    if (addr && *addr) rcpt_add(out, addr);
                }
            }
        } else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            if (addr && *addr) rcpt_add(out, addr);
        }
    }
    g_object_unref(list);
}

/* ---- the message ------------------------------------------------------ */

struct line {
    const char *p;
    size_t len; /* without the line end */
};

struct message {
    struct line *lines;
    size_t nlines;
    size_t nheaders;    /* lines in the header section */
    bool has_separator; /* an empty line follows the headers */
    bool has_from, has_date, has_msgid;
    bool eight_bit;
    buf_t rcpt_fields;  /* To/Cc/Bcc values, comma separated */
};

static void split_lines(const char *in, size_t len, bool dot_ends, struct message *m) {
    size_t cap = 0, i = 0;
    while (i < len) {
        const char *nl = memchr(in + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - in) : len;
        size_t l = end - i;
        if (l > 0 && in[i + l - 1] == '\r') l--;
        if (dot_ends && l == 1 && in[i] == '.') break;
        if (m->nlines == cap) {
            cap = cap ? cap * 2 : 256;
            m->lines = xrealloc(m->lines, cap * sizeof *m->lines);
        }
        m->lines[m->nlines].p = in + i;
        m->lines[m->nlines].len = l;
        m->nlines++;
        i = nl ? end + 1 : len;
    }
}

/* Length of the field name if the line starts a header field, else 0. */
static size_t field_name_len(const struct line *l) {
    for (size_t i = 0; i < l->len; i++) {
        unsigned char c = (unsigned char)l->p[i];
        if (c == ':') return i;
        if (c < 33 || c > 126) return 0;
    }
    return 0;
}

static bool field_is(const struct line *l, size_t nl, const char *name) {
    return nl == strlen(name) && !strncasecmp(l->p, name, nl);
}

/* Find the header section and what it says. */
static void scan_headers(struct message *m, bool collect) {
    size_t i = 0;
    bool in_rcpt_field = false;
    for (; i < m->nlines; i++) {
        const struct line *l = &m->lines[i];
        if (l->len == 0) {
            m->has_separator = true;
            break;
        }
        if ((l->p[0] == ' ' || l->p[0] == '\t') && i > 0) {
            if (in_rcpt_field) buf_append(&m->rcpt_fields, l->p, l->len);
            continue;
        }
        size_t nl = field_name_len(l);
        if (nl == 0) break; /* the body starts without an empty line */
        if (field_is(l, nl, "From")) m->has_from = true;
        else if (field_is(l, nl, "Date")) m->has_date = true;
        else if (field_is(l, nl, "Message-ID")) m->has_msgid = true;
        in_rcpt_field = collect && (field_is(l, nl, "To") || field_is(l, nl, "Cc") || field_is(l, nl, "Bcc"));
        if (in_rcpt_field) {
            if (m->rcpt_fields.len) buf_append_char(&m->rcpt_fields, ',');
            buf_append(&m->rcpt_fields, l->p + nl + 1, l->len - nl - 1);
        }
    }
    m->nheaders = i;
    for (size_t k = 0; k < m->nlines && !m->eight_bit; k++)
        for (size_t j = 0; j < m->lines[k].len; j++)
            if ((unsigned char)m->lines[k].p[j] >= 0x80) {
                m->eight_bit = true;
                break;
            }
}

static void wire_line(buf_t *out, const char *p, size_t len) {
    if (len > 0 && p[0] == '.') buf_append_char(out, '.'); /* RFC 5321 4.5.2 */
    buf_append(out, p, len);
    buf_append_str(out, "\r\n");
}

/* The DATA payload: headers (Bcc dropped with -t, missing ones added),
 * the body, CRLF line ends, dot-stuffed; without the final ".". */
static void build_wire(const struct message *m, bool strip_bcc, const char *added, buf_t *out) {
    bool skipping = false;
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct line *l = &m->lines[i];
        bool cont = l->p[0] == ' ' || l->p[0] == '\t';
        if (!cont) {
            size_t nl = field_name_len(l);
            skipping = strip_bcc && field_is(l, nl, "Bcc");
        }
        if (!skipping) wire_line(out, l->p, l->len);
    }
    buf_append_str(out, added);
    buf_append_str(out, "\r\n");
    size_t body = m->nheaders + (m->has_separator ? 1 : 0);
    for (size_t i = body; i < m->nlines; i++) wire_line(out, m->lines[i].p, m->lines[i].len);
}

/* ---- SMTP ------------------------------------------------------------- */

struct smtp_client {
    int fd;
    bool verbose;
    buf_t in;
    const char *server; /* for messages */
};

/* Read one reply; *code gets the code (0 on a broken reply), text the last
 * line. Returns 0, or -1 if the connection failed (errno). */
static int read_reply(struct smtp_client *c, int *code, buf_t *text, buf_t *all) {
    *code = 0;
    buf_reset(text);
    if (all) buf_reset(all);
    for (int nlines = 0; nlines < SENDMAIL_MAX_REPLY_LINES; nlines++) {
        char *nl;
        while (!(nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL)) {
            if (c->in.len > SENDMAIL_MAX_REPLY_LINE) {
                errno = EPROTO;
                return -1;
            }
            buf_reserve(&c->in, 4096);
            ssize_t n = recv(c->fd, c->in.data + c->in.len, 4096, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                if (n == 0) errno = ECONNRESET;
                return -1;
            }
            c->in.len += (size_t)n;
        }
        size_t len = (size_t)(nl - c->in.data);
        size_t ll = len > 0 && c->in.data[len - 1] == '\r' ? len - 1 : len;
        buf_reset(text);
        buf_append(text, c->in.data, ll);
        buf_consume(&c->in, len + 1);
        if (c->verbose) fprintf(stderr, "<<< %s\n", buf_cstr(text));
        const char *t = buf_cstr(text);
        if (all) buf_printf(all, "%s\n", t);
        if (ll < 3 || t[0] < '2' || t[0] > '5' || t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9' ||
            (ll > 3 && t[3] != ' ' && t[3] != '-')) {
            *code = 0;
            return 0;
        }
        if (ll == 3 || t[3] == ' ') {
            *code = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
            return 0;
        }
    }
    *code = 0;
    return 0;
}

static int send_all(struct smtp_client *c, const char *p, size_t len) {
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_cmd(struct smtp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int send_cmd(struct smtp_client *c, const char *fmt, ...) {
    buf_t b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (c->verbose) fprintf(stderr, ">>> %s\n", buf_cstr(&b));
    buf_append_str(&b, "\r\n");
    int rc = send_all(c, b.data, b.len);
    buf_free(&b);
    return rc;
}

static int smtp_connect(const char *addr, buf_t *err) {
    struct sockaddr_storage ss;
    int len;
    if (net_parse_addr(addr, &ss, &len) < 0) {
        buf_printf(err, "bad smtp_listen address '%s'", addr);
        return -1;
    }
    /* a wildcard listener is reached on loopback */
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        if (sin->sin_addr.s_addr == htonl(INADDR_ANY)) sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) sin6->sin6_addr = in6addr_loopback;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        buf_printf(err, "socket: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {SENDMAIL_TIMEOUT, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0) {
        buf_printf(err, "cannot connect to the devmail server at %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int status_for(int code) {
    if (code >= 400 && code < 500) return EX_TEMPFAIL;
    if (code >= 500) return EX_UNAVAILABLE;
    return EX_PROTOCOL;
}

static bool ehlo_has(const char *all, const char *ext) {
    size_t n = strlen(ext);
    for (const char *p = all; (p = strchr(p, '\n')) && p[1]; p++) {
        const char *line = p + 1;
        if (strlen(line) > 4 + n && !strncasecmp(line + 4, ext, n) &&
            (line[4 + n] == '\n' || line[4 + n] == ' ' || line[4 + n] == '\r'))
            return true;
    }
    return false;
}

static bool has_non_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return true;
    return false;
}

/* One SMTP transaction. Returns an exit status. */
static int submit(const char *server, bool verbose, const char *helo, const char *from, const struct rcpt_list *rcpts,
                  const buf_t *wire, bool eight_bit) {
    buf_t err = BUF_INIT, text = BUF_INIT, all = BUF_INIT;
    struct smtp_client c = {.fd = -1, .verbose = verbose, .in = BUF_INIT, .server = server};
    int status = EX_TEMPFAIL, code;
    const char *step = "connect";
    c.fd = smtp_connect(server, &err);
    if (c.fd < 0) {
        fprintf(stderr, "devmail sendmail: %s (is `devmail` running? see -c FILE / --smtp-listen)\n", buf_cstr(&err));
        goto out;
    }
    step = "greeting";
    if (read_reply(&c, &code, &text, NULL) < 0) goto io_error;
    if (code != 220) goto refused;
    step = "EHLO";
    if (send_cmd(&c, "EHLO %s", helo) < 0 || read_reply(&c, &code, &text, &all) < 0) goto io_error;
    bool esmtp = code == 250;
    if (!esmtp) {
        step = "HELO";
        if (send_cmd(&c, "HELO %s", helo) < 0 || read_reply(&c, &code, &text, NULL) < 0) goto io_error;
        if (code != 250) goto refused;
    }
    bool utf8 = has_non_ascii(from);
    for (size_t i = 0; i < rcpts->n; i++) utf8 = utf8 || has_non_ascii(rcpts->v[i]);
    step = "MAIL FROM";
    if (send_cmd(&c, "MAIL FROM:<%s>%s%s", from,
                 esmtp && eight_bit && ehlo_has(buf_cstr(&all), "8BITMIME") ? " BODY=8BITMIME" : "",
                 esmtp && utf8 && ehlo_has(buf_cstr(&all), "SMTPUTF8") ? " SMTPUTF8" : "") < 0 ||
        read_reply(&c, &code, &text, NULL) < 0)
        goto io_error;
    if (code != 250) goto refused;
    for (size_t i = 0; i < rcpts->n; i++) {
        step = "RCPT TO";
        if (send_cmd(&c, "RCPT TO:<%s>", rcpts->v[i]) < 0 || read_reply(&c, &code, &text, NULL) < 0) goto io_error;
        if (code != 250 && code != 251) {
            fprintf(stderr, "devmail sendmail: %s refused recipient <%s>: %s\n", server, rcpts->v[i], buf_cstr(&text));
            status = status_for(code);
            goto quit;
        }
    }
    step = "DATA";
    if (send_cmd(&c, "DATA") < 0 || read_reply(&c, &code, &text, NULL) < 0) goto io_error;
    if (code != 354) goto refused;
    if (verbose) fprintf(stderr, ">>> (%zu octets of message)\n>>> .\n", wire->len);
    step = "end of data";
    if (send_all(&c, wire->data ? wire->data : "", wire->len) < 0 || send_all(&c, ".\r\n", 3) < 0 ||
        read_reply(&c, &code, &text, NULL) < 0)
        goto io_error;
    if (code != 250) goto refused;
    status = EX_OK;
    if (verbose) fprintf(stderr, "devmail sendmail: %s\n", buf_cstr(&text));
    send_cmd(&c, "QUIT");
    read_reply(&c, &code, &text, NULL);
    goto out;
refused:
    fprintf(stderr, "devmail sendmail: %s refused the message at %s: %s\n", server, step, buf_cstr(&text));
    status = status_for(code);
quit:
    send_cmd(&c, "QUIT");
    read_reply(&c, &code, &text, NULL);
    goto out;
io_error:;
    int e = errno;
    fprintf(stderr, "devmail sendmail: connection to %s failed at %s: %s\n", server, step,
            e == EAGAIN || e == EWOULDBLOCK ? "timed out" : strerror(e));
    status = e == EPROTO ? EX_PROTOCOL : EX_TEMPFAIL;
out:
    if (c.fd >= 0) close(c.fd);
    buf_free(&c.in);
    buf_free(&err);
    buf_free(&text);
    buf_free(&all);
    return status;
}

/* ---- command line ------------------------------------------------------- */

/* Options of sendmail(1) that take a value (the rest of the word or the
 * next word). */
static const char *const value_opts = "fFrNRVBCLXhcqoO";

static int parse_args(int argc, char **argv, struct sendmail_opts *o) {
    o->dot_ends = true;
    o->rcpts = xcalloc((size_t)argc + 1, sizeof *o->rcpts);
    o->cfg_args = xcalloc((size_t)argc + 1, sizeof *o->cfg_args);
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strncmp(a, "--", 2)) {
            /* a devmail config flag (--smtp-listen ADDR, --config FILE ...) */
            o->cfg_args[o->ncfg++] = argv[i];
            if (!strchr(a, '=') && i + 1 < argc && strcmp(a, "--verbose") != 0) o->cfg_args[o->ncfg++] = argv[++i];
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') break;
        for (const char *p = a + 1; *p; p++) {
            char f = *p;
            if (strchr(value_opts, f)) {
                const char *v = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!v && f != 'q') {
                    fprintf(stderr, "devmail sendmail: option -%c needs a value\n", f);
                    return EX_USAGE;
                }
                switch (f) {
                case 'f':
                case 'r': o->from = v; break;
                case 'F': o->fullname = v; break;
                case 'c':
                    o->cfg_args[o->ncfg++] = "-c";
                    o->cfg_args[o->ncfg++] = (char *)v;
                    break;
                case 'o':
                    if (!strcmp(v, "i")) o->dot_ends = false; /* -oi; other -o options are ignored */
                    break;
                case 'q':
                    /* no queue: nothing to run */
                    return -2;
                default: break; /* -N -R -V -B -C -L -X -h -O: accepted, not needed */
                }
                break;
            }
            switch (f) {
            case 't': o->extract = true; break;
            case 'i': o->dot_ends = false; break;
            case 'v': o->verbose = true; break;
            case 'b':
                /* -bm: deliver mail (the default); other modes are not provided */
                if (!strcmp(p, "bm")) {
                    p += 1;
                    break;
                }
                if (!strcmp(p, "bi")) return -2; /* newaliases: nothing to do */
                fprintf(stderr, "devmail sendmail: mode -%s is not supported (only -bm)\n", p);
                return EX_USAGE;
            case 'm':
            case 'n':
            case 'U':
            case 'G': break;
            default:
                fprintf(stderr, "devmail sendmail: unknown option -%c\n", f);
                return EX_USAGE;
            }
        }
    }
    for (; i < argc; i++) o->rcpts[o->nrcpts++] = argv[i];
    return 0;
}

static char *default_sender(const char *hostname) {
    const char *user = NULL;
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && *pw->pw_name) user = pw->pw_name;
    if (!user) user = getenv("USER");
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s@%s", user && *user ? user : "nobody", hostname);
    return buf_steal(&b);
}

/* The From:, Date: and Message-ID: fields a message lacks (as Postfix's
 * cleanup adds them for local submissions). */
static void added_headers(const struct message *m, const struct sendmail_opts *o, const char *from,
                          const char *hostname, buf_t *out) {
    if (!m->has_from) {
        if (o->fullname && *o->fullname) {
            /* a quoted display name: escape what would end the quotes */
            buf_append_str(out, "From: \"");
            for (const char *p = o->fullname; *p; p++) {
                if (*p == '"' || *p == '\\') buf_append_char(out, '\\');
                if (*p != '\r' && *p != '\n') buf_append_char(out, *p);
            }
            buf_printf(out, "\" <%s>\r\n", from);
        } else {
            buf_printf(out, "From: %s\r\n", *from ? from : "MAILER-DAEMON");
        }
    }
    if (!m->has_date) {
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
        buf_printf(out, "Date: %s\r\n", date);
    }
    if (!m->has_msgid) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        buf_printf(out, "Message-ID: <%lld.%06ld.%ld@%s>\r\n", (long long)tv.tv_sec, (long)tv.tv_usec,
                   (long)getpid(), hostname);
    }
}

int cli_sendmail(int argc, char **argv) {
    struct sendmail_opts o;
    memset(&o, 0, sizeof o);
    struct config cfg;
    bool have_cfg = false;
    struct message m;
    memset(&m, 0, sizeof m);
    struct rcpt_list rcpts = {0};
    buf_t input = BUF_INIT, wire = BUF_INIT, added = BUF_INIT;
    char *from = NULL;
    int status = parse_args(argc, argv, &o);
    if (status == -2) {
        status = EX_OK;
        goto out;
    }
    if (status != 0) goto out;
    if (cli_load_config(&cfg, o.ncfg, o.cfg_args, NULL) < 0) {
        status = EX_CONFIG;
        goto out;
    }
    have_cfg = true;
    if (cfg.verbose) o.verbose = true;
    if (cfg.smtp_listen.n == 0) {
        fprintf(stderr, "devmail sendmail: no smtp_listen address in the configuration\n");
        status = EX_CONFIG;
        goto out;
    }
    /* read the message */
    size_t max = (size_t)cfg.message_size_limit + SENDMAIL_INPUT_SLACK;
    for (;;) {
        buf_reserve(&input, 65536);
        ssize_t n = read(STDIN_FILENO, input.data + input.len, 65536);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "devmail sendmail: reading the message: %s\n", strerror(errno));
            status = EX_IOERR;
            goto out;
        }
        if (n == 0) break;
        input.len += (size_t)n;
        if (input.len > max) {
            fprintf(stderr, "devmail sendmail: message larger than message_size_limit (%lld bytes)\n",
                    (long long)cfg.message_size_limit);
            status = EX_DATAERR;
            goto out;
        }
    }
    g_mime_init();
    split_lines(input.data ? input.data : "", input.len, o.dot_ends, &m);
    scan_headers(&m, o.extract);
    if (o.extract && m.rcpt_fields.len) addresses_from(buf_cstr(&m.rcpt_fields), &rcpts);
    for (int i = 0; i < o.nrcpts; i++) addresses_from(o.rcpts[i], &rcpts);
    if (rcpts.n == 0) {
        fprintf(stderr, "devmail sendmail: no recipients (give them as arguments, or use -t with To:/Cc:/Bcc:)\n");
        status = EX_USAGE;
        goto out;
    }
    if (rcpts.n > SENDMAIL_MAX_RCPTS) {
        fprintf(stderr, "devmail sendmail: too many recipients (%zu, at most %d)\n", rcpts.n, SENDMAIL_MAX_RCPTS);
        status = EX_USAGE;
        goto out;
    }
    if (o.from) {
        /* "-f <>" and "-f ''" are the null sender */
        size_t fl = strlen(o.from);
        if (fl >= 2 && o.from[0] == '<' && o.from[fl - 1] == '>') from = xstrndup(o.from + 1, fl - 2);
        else from = xstrdup(o.from);
        if (strpbrk(from, "<>\r\n ")) {
            fprintf(stderr, "devmail sendmail: bad sender address '%s'\n", o.from);
            status = EX_USAGE;
            goto out;
        }
    } else {
        from = default_sender(cfg.hostname);
    }
    for (size_t i = 0; i < rcpts.n; i++) {
        if (strpbrk(rcpts.v[i], "<>\r\n ")) {
            fprintf(stderr, "devmail sendmail: bad recipient address '%s'\n", rcpts.v[i]);
            status = EX_USAGE;
            goto out;
        }
    }
    added_headers(&m, &o, from, cfg.hostname, &added);
    /* build_wire appends "\r\n" after the added fields: that is the
     * separator when the input had one, or the one it lacked */
    build_wire(&m, o.extract, buf_cstr(&added), &wire);
    status = submit(cfg.smtp_listen.v[0], o.verbose, "localhost", from, &rcpts, &wire, m.eight_bit);
out:
    free(o.rcpts);
    free(o.cfg_args);
    free(m.lines);
    buf_free(&m.rcpt_fields);
    rcpt_free(&rcpts);
    buf_free(&input);
    buf_free(&wire);
    buf_free(&added);
    free(from);
    if (have_cfg) config_free(&cfg);
    return status;
}

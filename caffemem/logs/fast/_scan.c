/* _scan: the hot loop of the log reader, for the lines a long training run repeats.
 *
 * Python (fast/scan.py) lends this module the state of the run being read (its thread ids, the
 * pending rows of its train and test tables, its clock) and a piece of text; ``scan`` walks the
 * piece line by line, applying each line exactly as the line path (lines.py + runs.py) would,
 * and stops at the first line it is not sure of. Python then reads that line its own way and
 * calls again. What is decided here is only what the Python code decides identically:
 *
 *  - a glog line (the prefix as PREFIX_RE reads it, ASCII only) from a thread the run knows, not F;
 *  - whose message is one of the solver lines of lines.py's fast regexes (loss, lr, train and test
 *    outputs, "Testing net"; NVCaffe's "[0.0]" tag too) with numbers of the forms a JSON writer
 *    keeps as they are (a subset of the grammar's NUMBER), a snapshot line, the plainest form of
 *    "Learning Rate Policy: <name>" (each restart of a solver prints it), or an unknown line:
 *    a first word lines.py does not know and none of its name forms, exactly its test;
 *  - or any line whose digit shape the Python side already classified as skippable (plain.py's
 *    cache: NVCaffe's [Forward] lines, lines without a prefix), so lark stays the definition.
 *
 * Everything else (a new thread, F lines, set-up lines, odd numbers, an output the table does not
 * have yet, a cut last line, non-ASCII where a Unicode rule could differ) is handed back. Rows are
 * written in the table's own kept format (curve.py's render_rows / Table._pending_text).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_NAMES 64
#define TAIL 12      /* model.LAST_LINES */
#define MAX_WORDS 64

enum { ISNAN = 1, NONFINITE = 2, PRINTED = 4 };

typedef struct { const char *p; Py_ssize_t n; } span;

/* A curve value: the text the table keeps for it, what it is, and where it came from. */
typedef struct {
    PyObject *obj;  /* the float Python lent (borrowed from the arguments), or NULL */
    span text;      /* kept text: a JSON number, nan, inf, -inf or null */
    span token;     /* read here: what Caffe printed (Python makes the float); p NULL: missing */
    int flags;
} value;

typedef struct {
    long long iteration, micros, net;
    value lr, loss;
    value out[MAX_NAMES];
    int has[MAX_NAMES];
} row;

typedef struct { char *p; Py_ssize_t n, cap; } buffer;

typedef struct {
    int names;
    span key[MAX_NAMES];   /* JSON key of each output, as _key_json writes it */
    span name[MAX_NAMES];  /* the name, UTF-8 */
    long long rows;        /* rows in the table, the pending one not counted */
    int pending;
    row last;
    buffer text;           /* rows rendered here */
    long long count;
    int nonfinite, printed;
} table;

typedef struct {
    table train, test;
    span tids[64];
    int ntids;
    value last_lr;
    long long last_iteration; int has_last_iteration;
    int training, in_test;
    long long first_day, first_clock, year_offset, start, last_seconds;
    PyObject *shapes;
    long long lines, unknown, glog_lines;
    span lr_policy;  /* the last "Learning Rate Policy:" value read here (p NULL: none) */
    span tail[TAIL];
    int tail_at, tail_count;
} state;

static const span NULL_TEXT = {"null", 4};
static span known_words[MAX_WORDS];
static int nknown;
static span name_forms[8];
static int nforms;

static const long long DAY_US = 86400LL * 1000000LL;
static const long long TURN_US = 180LL * 86400LL * 1000000LL;
static const long long YEAR_US = 366LL * 86400LL * 1000000LL;

/* ------------------------------------------------------------------ small helpers */

static int grow(buffer *b, Py_ssize_t more) {
    if (b->n + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->n + more) cap *= 2;
    char *p = PyMem_Realloc(b->p, cap);
    if (!p) { PyErr_NoMemory(); return -1; }
    b->p = p; b->cap = cap;
    return 0;
}

static int put(buffer *b, const char *p, Py_ssize_t n) {
    if (grow(b, n)) return -1;
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

#define PUTS(b, s) put((b), (s), (Py_ssize_t)sizeof(s) - 1)

static int put_int(buffer *b, long long v) {
    char tmp[24];
    int i = 24;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do { tmp[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) tmp[--i] = '-';
    return put(b, tmp + i, 24 - i);
}

/* What Python's str.isspace() says of an ASCII byte (\s in lines.py's regexes, str.strip). */
static int is_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int starts(const char *p, const char *e, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}

static int same(span a, const char *p, Py_ssize_t n) { return a.n == n && memcmp(a.p, p, n) == 0; }

static const char *find(const char *p, const char *e, span what) {
    for (; e - p >= what.n; p++) {
        p = memchr(p, what.p[0], e - p - what.n + 1);
        if (!p) return NULL;
        if (memcmp(p, what.p, what.n) == 0) return p;
    }
    return NULL;
}

/* A number this module keeps as text: JSON's number form (what _number_text keeps as printed),
 * exponent of at most two digits (so it is finite), or nan, -nan, inf, -inf. Every such text is
 * one NUMBER of the grammar and of lines.py. Sets *flags; returns its end, or NULL. */
static const char *number(const char *p, const char *e, int *flags) {
    const char *s = p;
    *flags = 0;
    if (p < e && *p == '-') p++;
    if (e - p >= 3 && (memcmp(p, "nan", 3) == 0 || memcmp(p, "inf", 3) == 0)) {
        *flags = NONFINITE | PRINTED | (*p == 'n' ? ISNAN : 0);
        return p + 3;
    }
    if (p >= e || !is_digit(*p)) return NULL;
    if (*p == '0') p++;
    else while (p < e && is_digit(*p)) p++;
    if (p < e && is_digit(*p)) return NULL;  /* a leading zero: Python writes repr() of it */
    if (p < e && *p == '.') {
        const char *d = ++p;
        while (p < e && is_digit(*p)) p++;
        if (p == d) return NULL;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        const char *d = p;
        while (p < e && is_digit(*p)) p++;
        if (p == d || p - d > 2) return NULL;
    }
    if (p - s > 40) return NULL;
    return p;
}

/* Plain decimal digits (no sign: the bulk path's rule too) as an integer; NULL if none or too many. */
static const char *integer(const char *p, const char *e, long long *v) {
    const char *s = p;
    *v = 0;
    while (p < e && is_digit(*p)) { *v = *v * 10 + (*p - '0'); p++; }
    return (p == s || p - s > 17) ? NULL : p;
}

static int value_of(value *v, const char *p, const char *end, int flags) {
    v->obj = NULL;
    v->token.p = p; v->token.n = end - p;
    v->flags = flags;
    if (flags & NONFINITE) {  /* kept as the line path writes a printed nan/inf */
        if (flags & ISNAN) { v->text.p = "nan"; v->text.n = 3; }
        else if (*p == '-') { v->text.p = "-inf"; v->text.n = 4; }
        else { v->text.p = "inf"; v->text.n = 3; }
    } else {
        v->text = v->token;
    }
    return 0;
}

static void missing(value *v) {
    v->obj = NULL; v->token.p = NULL; v->token.n = 0; v->text = NULL_TEXT;
    v->flags = ISNAN | NONFINITE;
}

/* ------------------------------------------------------------------ clock (clock.py) */

static long long ordinal(long long y, long long m, long long d) {
    static const int before[] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const int days[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days[m] + (m == 2 && leap)) return 0;
    long long n = y - 1;
    return n * 365 + n / 4 - n / 100 + n / 400 + before[m] + (m > 2 && leap) + d;
}

static long long number_at(const char *p, int n) {
    long long v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
    return v;
}

/* _stamp_seconds then _elapsed: microseconds since the run's Solving line into *out; -1 (and no
 * change) on a date that is no date (Python counts it as day 0: left to Python). */
static int elapsed(state *s, span date, span clock, long long *out) {
    long long day = date.n == 8 ? ordinal(number_at(date.p, 4), number_at(date.p + 4, 2), number_at(date.p + 6, 2))
                                : ordinal(2000, number_at(date.p, 2), number_at(date.p + 2, 2));
    if (!day) return -1;
    long long frac = 0;
    for (int i = 0; i < 6; i++) frac = frac * 10 + (9 + i < clock.n ? clock.p[9 + i] - '0' : 0);
    long long us = ((number_at(clock.p, 2) * 60 + number_at(clock.p + 3, 2)) * 60 + number_at(clock.p + 6, 2)) * 1000000LL
                   + frac;
    long long v = (day - s->first_day) * DAY_US + (us - s->first_clock) + s->year_offset;
    if (v < s->last_seconds - TURN_US) { s->year_offset += YEAR_US; v += YEAR_US; }
    s->last_seconds = v;
    *out = v - s->start;
    return 0;
}

/* ------------------------------------------------------------------ tables (curve.py) */

static int put_value(table *t, buffer *b, value *v) {
    /* Table.nonfinite: a word (nan, inf) the writers must replace; a missing value is already null */
    if ((v->flags & NONFINITE) && !same(NULL_TEXT, v->text.p, v->text.n)) t->nonfinite = 1;
    if (v->flags & PRINTED) t->printed = 1;
    return put(b, v->text.p, v->text.n);
}

/* Table._pending_text of the pending row, appended to the rows rendered here. */
static int render(table *t) {
    buffer *b = &t->text;
    row *r = &t->last;
    if (PUTS(b, "{\"iteration\": ") || put_int(b, r->iteration) || PUTS(b, ", ")) return -1;
    if (r->net && (PUTS(b, "\"net\": ") || put_int(b, r->net) || PUTS(b, ", "))) return -1;
    if (PUTS(b, "\"seconds\": ") || put_int(b, r->micros) || PUTS(b, "e-6, \"loss\": ")
        || put_value(t, b, &r->loss) || PUTS(b, ", \"lr\": ") || put_value(t, b, &r->lr)
        || PUTS(b, ", \"outputs\": {")) return -1;
    for (int k = 0; k < t->names; k++) {
        if ((k && PUTS(b, ", ")) || put(b, t->key[k].p, t->key[k].n) || PUTS(b, ": ")) return -1;
        if (r->has[k]) {
            if (put_value(t, b, &r->out[k])) return -1;
        } else {
            if (PUTS(b, "null")) return -1;
        }
    }
    if (PUTS(b, "}},\n")) return -1;
    t->count++;
    return 0;
}

static int add_row(table *t, long long iteration, long long micros, value *lr, value *loss, long long net) {
    if (t->pending) {
        if (render(t)) return -1;
        t->rows++;
    }
    t->pending = 1;
    row *r = &t->last;
    r->iteration = iteration; r->micros = micros; r->net = net;
    r->lr = *lr; r->loss = *loss;
    memset(r->has, 0, sizeof r->has);
    return 0;
}

static int output_index(table *t, const char *p, Py_ssize_t n) {
    for (int k = 0; k < t->names; k++)
        if (same(t->name[k], p, n)) return k;
    return -1;
}

/* ------------------------------------------------------------------ one line */

enum { HAND_BACK = 0, TAKEN = 1, FAILED = -1 };

typedef struct { span date, clock, tid; const char *message; char severity; } prefix;

/* PREFIX_RE: ([IWEF])(\d{4}(?:\d{4})?) (\d\d:\d\d:\d\d\.\d+) +(\d+) ([^\s\]]+:\d+)\] ? */
static int read_prefix(const char *p, const char *e, prefix *x) {
    if (e - p < 20 || (*p != 'I' && *p != 'W' && *p != 'E' && *p != 'F')) return 0;
    x->severity = *p++;
    const char *d = p;
    while (p < e && is_digit(*p)) p++;
    if ((p - d != 4 && p - d != 8) || p >= e || *p != ' ') return 0;
    x->date.p = d; x->date.n = p - d;
    p++;
    const char *c = p;
    if (e - p < 10 || !is_digit(p[0]) || !is_digit(p[1]) || p[2] != ':' || !is_digit(p[3]) || !is_digit(p[4]) || p[5] != ':'
        || !is_digit(p[6]) || !is_digit(p[7]) || p[8] != '.' || !is_digit(p[9])) return 0;
    p += 9;
    while (p < e && is_digit(*p)) p++;
    x->clock.p = c; x->clock.n = p - c;
    if (p >= e || *p != ' ') return 0;
    while (p < e && *p == ' ') p++;
    const char *t = p;
    while (p < e && is_digit(*p)) p++;
    if (p == t || p >= e || *p != ' ') return 0;
    x->tid.p = t; x->tid.n = p - t;
    p++;
    const char *w = p, *colon = NULL;
    while (p < e && *p != ']' && !is_space((unsigned char)*p)) {
        if ((unsigned char)*p >= 0x80) return 0;  /* \s is Unicode in Python: not decided here */
        if (*p == ':') colon = p;
        p++;
    }
    if (p >= e || *p != ']' || !colon || colon == w || colon + 1 == p) return 0;
    for (const char *q = colon + 1; q < p; q++) if (!is_digit(*q)) return 0;
    p++;
    if (p < e && *p == ' ') p++;
    x->message = p;
    return 1;
}

static const char *skip_space(const char *p, const char *e) {
    while (p < e && is_space((unsigned char)*p)) p++;
    return p;
}

/* \s*$ with ASCII white space only (a non-ASCII byte could be Unicode white space). */
static int at_end(const char *p, const char *e) { return skip_space(p, e) == e; }

/* The loss value at v ends the line: on_iteration_loss, a new training row with that loss. */
static int loss_row(state *s, prefix *x, long long it, const char *v, const char *e) {
    int f;
    const char *q = number(v, e, &f);
    if (!q || !at_end(q, e)) return HAND_BACK;
    value lr, loss;
    long long micros;
    missing(&lr);
    value_of(&loss, v, q, f);
    if (elapsed(s, x->date, x->clock, &micros)) return HAND_BACK;
    s->training = 1; s->in_test = 0; s->last_iteration = it; s->has_last_iteration = 1;
    return add_row(&s->train, it, micros, &lr, &loss, 0) ? FAILED : TAKEN;
}

/* Loss, lr and "Testing net" lines: ITERATION_RE (and _TAGGED_LR_RE when ``tagged``), and the
 * grammar's iteration_time_loss in its printed form (NVCaffe; lines.py leaves it to lark). */
static int iteration_line(state *s, const char *p, const char *e, prefix *x, int tagged) {
    long long it, n;
    const char *q;
    int f1, f2;
    p = skip_space(p, e);
    if (!starts(p, e, "Iteration ") || !(p = integer(p + 10, e, &it))) return HAND_BACK;
    if (starts(p, e, ", loss = ")) return loss_row(s, x, it, p + 9, e);
    if (starts(p, e, " (")) {  /* " (N iter/s, Ns/N iters), loss = N", NVCaffe's " (N s), loss = N" */
        long long per;
        if (!(q = number(p + 2, e, &f1))) return HAND_BACK;
        if (starts(q, e, " s), loss = ")) {  /* the grammar's iteration_time_loss */
            q += 2;
        } else {
            if (!starts(q, e, " iter/s, ") || !(q = number(q + 9, e, &f2)) || !starts(q, e, "s/")
                || !(q = integer(q + 2, e, &per)) || !starts(q, e, " iter")) return HAND_BACK;
            q += 5;
            if (q < e && *q == 's') q++;
        }
        if (!starts(q, e, "), loss = ")) return HAND_BACK;
        return loss_row(s, x, it, q + 10, e);
    }
    if (starts(p, e, ", lr = ")) {
        const char *v = p + 7;
        if (!(q = number(v, e, &f1))) return HAND_BACK;
        if (!at_end(q, e)) {  /* NVCaffe: ", lr = 0.01, m = 0.9, ..." only with its tag */
            if (!tagged || !starts(q, e, ", ") || q + 2 >= e || is_space((unsigned char)q[2])
                || (unsigned char)q[2] >= 0x80) return HAND_BACK;
        }
        value lr, loss;
        value_of(&lr, v, q, f1);
        table *t = &s->train;
        /* on_iteration_lr: the lr of the pending row's iteration fills it in, else a new row */
        int fill = t->pending && t->last.iteration == it && (t->last.lr.flags & ISNAN);
        long long micros = 0;
        if (!fill && elapsed(s, x->date, x->clock, &micros)) return HAND_BACK;
        s->training = 1; s->in_test = 0; s->last_iteration = it; s->has_last_iteration = 1;
        s->last_lr = lr;
        if (fill) {
            t->last.lr = lr;
            return TAKEN;
        }
        missing(&loss);
        return add_row(t, it, micros, &lr, &loss, 0) ? FAILED : TAKEN;
    }
    if (starts(p, e, ", Testing net (#")) {
        if (!(q = integer(p + 16, e, &n)) || !starts(q, e, ")") || !at_end(q + 1, e)) return HAND_BACK;
        long long micros;
        if (elapsed(s, x->date, x->clock, &micros)) return HAND_BACK;
        value loss;
        missing(&loss);
        s->training = 1; s->in_test = 1; s->last_iteration = it; s->has_last_iteration = 1;
        return add_row(&s->test, it, micros, &s->last_lr, &loss, n) ? FAILED : TAKEN;
    }
    return HAND_BACK;
}

/* OUTPUT_RE: the name is the shortest text before " = " after which the rest reads. */
static int output_line(state *s, const char *p, const char *e) {
    long long index;
    int f1, f2;
    const char *q;
    p = skip_space(p, e);
    table *t;
    if (starts(p, e, "Train net output #")) { t = &s->train; p += 18; }
    else if (starts(p, e, "Test net output #")) { t = &s->test; p += 17; }
    else return HAND_BACK;
    if (!(p = integer(p, e, &index)) || !starts(p, e, ": ")) return HAND_BACK;
    const char *name = p + 2;
    static const span EQ = {" = ", 3};
    const char *eq = find(name + 1, e, EQ);
    if (!eq) return HAND_BACK;
    const char *v = eq + 3;
    if (!(q = number(v, e, &f1))) return HAND_BACK;
    const char *vend = q;
    if (starts(q, e, " (* ")) {
        if (!(q = number(q + 4, e, &f2)) || !starts(q, e, " = ") || !(q = number(q + 3, e, &f2))
            || !starts(q, e, " loss)")) return HAND_BACK;
        q += 6;
    }
    if (!at_end(q, e)) return HAND_BACK;
    /* name.strip(): Unicode white space at either end is Python's to judge */
    const char *ns = name, *ne = eq;
    if ((unsigned char)*ns >= 0x80 || (unsigned char)ne[-1] >= 0x80) return HAND_BACK;
    while (ns < ne && is_space((unsigned char)*ns)) ns++;
    while (ne > ns && is_space((unsigned char)ne[-1])) ne--;
    int k = output_index(t, ns, ne - ns);
    if (k < 0 || !t->pending) return HAND_BACK;  /* a new name, or no row yet: the Python rules */
    value_of(&t->last.out[k], v, vend, f1);
    t->last.has[k] = 1;
    return TAKEN;
}

/* A cache of plain.py's verdicts by shape, here in C: NVCaffe's debug lines ("[Forward] Layer
 * conv1, top blob conv1 data: 0.0123", 83 % of its lines) all went through a Python str of the
 * shape and a dict lookup, ~30 % of reading that log. A verdict is a pure function of the shape
 * (plain.skippable), so a shape Python has judged can be remembered; one Python has not judged
 * yet is not kept. */
enum { NOT_SKIPPABLE = 0, SKIPPABLE_NO_PREFIX = 1, SKIPPABLE_WITH_PREFIX = 2 };
#define VERDICTS 1024  /* a power of two */
typedef struct { unsigned long long hash; Py_ssize_t n; char *shape; int verdict; } verdict_slot;
static verdict_slot verdicts[VERDICTS];

/* Eight bytes at a time (a byte at a time cost more than the dict lookup it saves). */
static unsigned long long shape_hash(const char *p, Py_ssize_t n) {
    unsigned long long h = 1469598103934665603ULL ^ (unsigned long long)n, w;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, p + i, (size_t)(n - i));
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 32);
}

/* plain.py's verdict on the line's digit shape, if Python has one: 1 skippable, 0 not or unknown. */
static int skippable_shape(state *s, const char *p, const char *e, int with_prefix) {
    if (!s->shapes || e - p > 4096) return 0;
    char small[512];
    Py_ssize_t n = e - p;
    char *buf = n <= (Py_ssize_t)sizeof small ? small : PyMem_Malloc(n);
    if (!buf) return 0;
    for (Py_ssize_t i = 0; i < n; i++) buf[i] = (p[i] >= '1' && p[i] <= '9') ? '0' : p[i];
    unsigned long long hash = shape_hash(buf, n);
    verdict_slot *slot = &verdicts[hash & (VERDICTS - 1)];
    int verdict = -1;
    if (slot->shape && slot->hash == hash && slot->n == n && memcmp(slot->shape, buf, n) == 0) {
        verdict = slot->verdict;
    } else {
        PyObject *key = PyUnicode_DecodeUTF8(buf, n, "surrogatepass");
        PyObject *mark = key ? PyDict_GetItemWithError(s->shapes, key) : NULL;  /* borrowed */
        Py_XDECREF(key);
        if (!mark) {
            PyErr_Clear();
        } else {
            /* a thread-id getter (a SourceGetter too: a data layer's source file; the scanner is
             * only lent a run in which no layer is being set up, and no line it takes starts one) */
            verdict = mark == Py_True ? SKIPPABLE_NO_PREFIX : mark == Py_False ? NOT_SKIPPABLE : SKIPPABLE_WITH_PREFIX;
            char *copy = PyMem_Malloc(n ? n : 1);
            if (copy) {
                memcpy(copy, buf, n);
                PyMem_Free(slot->shape);
                slot->shape = copy; slot->n = n; slot->hash = hash; slot->verdict = verdict;
            }
        }
    }
    if (buf != small) PyMem_Free(buf);
    if (verdict < 0) return 0;
    return with_prefix ? verdict == SKIPPABLE_WITH_PREFIX : verdict == SKIPPABLE_NO_PREFIX;
}

static int known_word(const char *p, Py_ssize_t n) {
    for (int i = 0; i < nknown; i++) if (same(known_words[i], p, n)) return 1;
    return 0;
}

/* classify_message's decision for the message [p, e) of a line from a known thread. */
static int message(state *s, const char *line, const char *p, const char *e, prefix *x) {
    const char *st = skip_space(p, e);
    if (st < e && (unsigned char)*st >= 0x80) return HAND_BACK;  /* lstrip() is Unicode */
    const char *sp = memchr(st, ' ', e - st);
    const char *fe = sp ? sp : e;
    Py_ssize_t fn = fe - st;
    int r = HAND_BACK;
    if (fn > 0 && (*st == '[' || *st == '(')) {
        /* _TAG_RE: \s*(?:\[\d+(?:\.\d+)?\]|\(\d+\.\d+\)) then the solver lines
         * (fast_tagged_solver_line); a "(" tag needs its fraction */
        const char close = *st == '[' ? ']' : ')';
        const char *q = st + 1, *d = q;
        while (q < e && is_digit(*q)) q++;
        if (q > d && q < e && *q == '.') {
            const char *d2 = ++q;
            while (q < e && is_digit(*q)) q++;
            if (q == d2) q = NULL;
        } else if (close == ')') {
            q = NULL;
        }
        if (q && q > d && q < e && *q == close) {
            q++;
            const char *rest = skip_space(q, e);
            if (starts(rest, e, "Iteration ")) r = iteration_line(s, q, e, x, 1);
            else r = output_line(s, q, e);
        }
    } else if (same((span){"Iteration", 9}, st, fn)) {
        r = iteration_line(s, p, e, x, 0);
    } else if (same((span){"Train", 5}, st, fn) || same((span){"Test", 4}, st, fn)) {
        r = output_line(s, p, e);
    } else if (same((span){"Snapshotting", 12}, st, fn)) {
        const char *q = st + 12;
        while (q < e && (*q == ' ' || *q == '\t')) q++;
        if (q == e) s->unknown++;  /* "Snapshotting" alone reads as nothing */
        return TAKEN;
    } else if (starts(p, e, "Learning Rate Policy: ")) {
        /* on_lr_policy, for the one form whose parse is plain: the message is the words and a
         * policy name of letters and underscores, nothing else (lark's REST, stripped) */
        const char *q = p + 22, *v = q;
        while (q < e && (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))) q++;
        if (q == v || q != e) return HAND_BACK;
        s->lr_policy.p = v; s->lr_policy.n = q - v;
        return TAKEN;
    } else if (!known_word(st, fn)) {
        int form = 0;
        for (int i = 0; i < nforms && !form; i++) form = find(st, e, name_forms[i]) != NULL;
        if (!form) { s->unknown++; return TAKEN; }
    }
    if (r == HAND_BACK && skippable_shape(s, line, e, 1)) { s->unknown++; return TAKEN; }
    return r;
}

static int known_tid(state *s, span tid) {
    for (int i = 0; i < s->ntids; i++) if (same(s->tids[i], tid.p, tid.n)) return 1;
    return 0;
}

static int line(state *s, const char *p, const char *e) {
    prefix x;
    if (!read_prefix(p, e, &x)) {
        if (!skippable_shape(s, p, e, 0)) return HAND_BACK;
        s->unknown++;
        return TAKEN;
    }
    if (x.severity == 'F' || !known_tid(s, x.tid)) return HAND_BACK;
    int r = message(s, p, x.message, e, &x);
    if (r == TAKEN) s->glog_lines++;
    return r;
}

/* ------------------------------------------------------------------ Python side */

static int span_of(PyObject *o, span *out) {
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(o, &p, &n)) return -1;
    out->p = p; out->n = n;
    return 0;
}

/* slot: (float, kept text as bytes, flags) */
static int lend_value(PyObject *slot, value *v) {
    if (!PyTuple_Check(slot) || PyTuple_GET_SIZE(slot) != 3) { PyErr_SetString(PyExc_TypeError, "bad value"); return -1; }
    v->obj = PyTuple_GET_ITEM(slot, 0);
    v->token.p = NULL; v->token.n = 0;
    if (span_of(PyTuple_GET_ITEM(slot, 1), &v->text)) return -1;
    v->flags = (int)PyLong_AsLong(PyTuple_GET_ITEM(slot, 2));
    return PyErr_Occurred() ? -1 : 0;
}

/* table: (keys, names, rows, pending or None); pending: (iteration, micros, net, lr, loss, outputs) */
static int lend_table(PyObject *o, table *t) {
    PyObject *keys, *names, *pending;
    long long rows;
    if (!PyArg_ParseTuple(o, "O!O!LO", &PyTuple_Type, &keys, &PyTuple_Type, &names, &rows, &pending)) return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(keys);
    if (n > MAX_NAMES || PyTuple_GET_SIZE(names) != n) { PyErr_SetString(PyExc_ValueError, "names"); return -1; }
    t->names = (int)n;
    for (Py_ssize_t k = 0; k < n; k++)
        if (span_of(PyTuple_GET_ITEM(keys, k), &t->key[k]) || span_of(PyTuple_GET_ITEM(names, k), &t->name[k]))
            return -1;
    t->rows = rows;
    t->pending = pending != Py_None;
    if (t->pending) {
        PyObject *lr, *loss, *outs;
        row *r = &t->last;
        if (!PyArg_ParseTuple(pending, "LLLOOO!", &r->iteration, &r->micros, &r->net, &lr, &loss, &PyTuple_Type, &outs))
            return -1;
        if (lend_value(lr, &r->lr) || lend_value(loss, &r->loss)) return -1;
        if (PyTuple_GET_SIZE(outs) != n) { PyErr_SetString(PyExc_ValueError, "outputs"); return -1; }
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *slot = PyTuple_GET_ITEM(outs, k);
            r->has[k] = slot != Py_None;
            if (r->has[k] && lend_value(slot, &r->out[k])) return -1;
        }
    }
    return 0;
}

/* A value back to Python: the float it lent, the token read here (a str), or None (missing). */
static PyObject *give_value(value *v) {
    if (v->obj) { Py_INCREF(v->obj); return v->obj; }
    if (!v->token.p) Py_RETURN_NONE;
    return PyUnicode_FromStringAndSize(v->token.p, v->token.n);
}

static PyObject *give_table(table *t) {
    PyObject *pending = Py_None, *outs = NULL;
    Py_INCREF(Py_None);
    if (t->pending) {
        row *r = &t->last;
        outs = PyTuple_New(t->names);
        if (!outs) goto fail;
        for (int k = 0; k < t->names; k++) {
            PyObject *o = r->has[k] ? give_value(&r->out[k]) : (Py_INCREF(Py_None), Py_None);
            if (!o) goto fail;
            PyTuple_SET_ITEM(outs, k, o);
        }
        Py_DECREF(pending);
        pending = Py_BuildValue("(LLLNNN)", r->iteration, r->micros, r->net, give_value(&r->lr),
                                give_value(&r->loss), outs);
        outs = NULL;
        if (!pending) return NULL;
    }
    return Py_BuildValue("(NLiiN)", PyUnicode_FromStringAndSize(t->text.p ? t->text.p : "", t->text.n), t->count,
                         t->nonfinite, t->printed, pending);
fail:
    Py_XDECREF(outs);
    Py_DECREF(pending);
    return NULL;
}

PyDoc_STRVAR(scan_doc,
"scan(text, start, run) -> tuple\n\n"
"Apply the lines of ``text`` from byte ``start`` of its UTF-8 form as the line path would, up to\n"
"the first line this module is not sure of; see fast/scan.py for the tuples.");

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *text, *tids, *train, *test, *last_lr, *last_it, *shapes;
    Py_ssize_t start;
    state *s = PyMem_Calloc(1, sizeof *s);
    if (!s) return PyErr_NoMemory();
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "UnO!OOOOiiLLLLLO", &text, &start, &PyTuple_Type, &tids, &train, &test, &last_lr,
                          &last_it, &s->training, &s->in_test, &s->first_day, &s->first_clock, &s->year_offset,
                          &s->start, &s->last_seconds, &shapes))
        goto done;
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    if (!data) goto done;
    if (start < 0 || start > size) { PyErr_SetString(PyExc_ValueError, "start"); goto done; }
    if (PyTuple_GET_SIZE(tids) > 64) { PyErr_SetString(PyExc_ValueError, "tids"); goto done; }
    s->ntids = (int)PyTuple_GET_SIZE(tids);
    for (int i = 0; i < s->ntids; i++) if (span_of(PyTuple_GET_ITEM(tids, i), &s->tids[i])) goto done;
    if (lend_table(train, &s->train) || lend_table(test, &s->test) || lend_value(last_lr, &s->last_lr)) goto done;
    s->has_last_iteration = last_it != Py_None;
    if (s->has_last_iteration && (s->last_iteration = PyLong_AsLongLong(last_it)) == -1 && PyErr_Occurred()) goto done;
    s->shapes = PyDict_Check(shapes) ? shapes : NULL;

    const char *p = data + start, *end = data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        if (!nl) break;  /* a cut last line: Python's */
        /* Every test of a line comes before any change it makes, so a line handed back leaves
         * no trace; FAILED is only an exception (no memory). */
        int r = line(s, p, nl);
        if (r == FAILED) goto done;
        if (r != TAKEN) break;
        s->lines++;
        s->tail[s->tail_at].p = p; s->tail[s->tail_at].n = nl - p;
        s->tail_at = (s->tail_at + 1) % TAIL;
        if (s->tail_count < TAIL) s->tail_count++;
        p = nl + 1;
    }
    Py_ssize_t stop = p - data;
    Py_ssize_t chars = stop - start;
    if (!PyUnicode_IS_ASCII(text)) {  /* characters, not bytes, for Python's slices */
        chars = 0;
        for (const char *q = data + start; q < p; q++) chars += ((unsigned char)*q & 0xC0) != 0x80;
    }
    PyObject *tail = PyList_New(s->tail_count);
    if (!tail) goto done;
    for (int i = 0; i < s->tail_count; i++) {
        span t = s->tail[(s->tail_at - s->tail_count + i + TAIL) % TAIL];
        PyObject *o = PyUnicode_DecodeUTF8(t.p, t.n, "surrogatepass");
        if (!o) { Py_DECREF(tail); goto done; }
        PyList_SET_ITEM(tail, i, o);
    }
    PyObject *it = s->has_last_iteration ? PyLong_FromLongLong(s->last_iteration) : (Py_INCREF(Py_None), Py_None);
    PyObject *policy = s->lr_policy.p ? PyUnicode_FromStringAndSize(s->lr_policy.p, s->lr_policy.n)
                                      : (Py_INCREF(Py_None), Py_None);
    result = Py_BuildValue("(nnLLLNNNNiiLLNN)", stop, chars, s->lines, s->unknown, s->glog_lines,
                           give_table(&s->train), give_table(&s->test), give_value(&s->last_lr), it,
                           s->training, s->in_test, s->year_offset, s->last_seconds, tail, policy);
done:
    PyMem_Free(s->train.text.p);
    PyMem_Free(s->test.text.p);
    PyMem_Free(s);
    return result;
}

/* ------------------------------------------------------------------ writing kept rows (curve.py)
 *
 * The writers of csv and of the JSON test passes show each value as Python shows the float the
 * kept text stands for: repr(float(text)). Decoding every row with json.loads and formatting each
 * value cost the CSV writer three times the reading of the log; here the kept text is rewritten
 * directly. Most of Caffe's numbers need no float at all: a plain decimal with at most 15
 * significant digits (Caffe prints 6) is the shortest text of its double (two decimals of <= 15
 * digits never round to one double), so repr gives it back as it is, but for repr's own form
 * (".0" after an integer; exponent form below 1e-4). Anything else goes through the float, with
 * CPython's own functions. A row that is not the table's kept form is an error: the caller then
 * takes the Python way (curve.py's records()). */

enum { AS_CSV = 0, AS_JSON = 1 };

/* repr(float(text)) for a JSON number text (json's float: an out-of-range one is an infinity,
 * written as put_cell writes one); -1 (no exception) if it is not a number. */
static int put_repr(buffer *b, const char *p, Py_ssize_t n, int mode) {
    const char *s = p, *e = p + n, *q = p;
    if (q < e && *q == '-') q++;
    const char *digits = q;
    while (q < e && is_digit(*q)) q++;
    Py_ssize_t whole = q - digits;
    int plain = whole > 0 && whole <= 15 && (whole == 1 || *digits != '0');
    if (plain && q == e) {  /* an integer: json reads an int, float() of it adds ".0" */
        if (n == 2 && *s == '-' && *digits == '0') return PUTS(b, "0.0") ? -2 : 0;  /* int("-0") is 0 */
        return put(b, s, n) || PUTS(b, ".0") ? -2 : 0;
    }
    if (plain && *q == '.') {
        const char *frac = ++q;
        while (q < e && is_digit(*q)) q++;
        if (q == e && q > frac && e[-1] != '0') {
            Py_ssize_t zeros = 0;
            if (*digits == '0') while (frac + zeros < e && frac[zeros] == '0') zeros++;
            Py_ssize_t significant = *digits == '0' ? (e - frac) - zeros : whole + (e - frac);
            if (zeros <= 3 && significant <= 15) return put(b, s, n) ? -2 : 0;  /* >= 1e-4 */
        }
    }
    char small[64], *tmp = n < (Py_ssize_t)sizeof small ? small : PyMem_Malloc(n + 1);
    if (!tmp) { PyErr_NoMemory(); return -2; }
    memcpy(tmp, p, n);
    tmp[n] = 0;
    char *stop;
    double x = PyOS_string_to_double(tmp, &stop, NULL);
    int bad = (x == -1.0 && PyErr_Occurred()) || stop != tmp + n;
    if (tmp != small) PyMem_Free(tmp);
    if (bad) { PyErr_Clear(); return -1; }
    if (!isfinite(x))
        return (mode == AS_JSON ? PUTS(b, "null") : x > 0 ? PUTS(b, "inf") : PUTS(b, "-inf")) ? -2 : 0;
    char *text = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!text) return -2;
    int r = put(b, text, (Py_ssize_t)strlen(text)) ? -2 : 0;
    PyMem_Free(text);
    return r;
}

/* A kept value: csv's cell (parse_log.py's: repr, "nan" for a NaN Caffe printed, empty where it
 * is missing) or JSON's (repr, null for NaN, infinities and missing). */
static int put_cell(buffer *b, const char *p, Py_ssize_t n, int mode) {
    const char *q = p + (n && *p == '-');
    Py_ssize_t rest = n - (q - p);
    if (rest == 4 && memcmp(q, "null", 4) == 0 && q == p) return mode == AS_CSV ? 0 : PUTS(b, "null") ? -2 : 0;
    if (rest == 3 && (memcmp(q, "nan", 3) == 0 || memcmp(q, "inf", 3) == 0)) {
        if (mode == AS_JSON) return PUTS(b, "null") ? -2 : 0;
        if (*q == 'n') return PUTS(b, "nan") ? -2 : 0;  /* Python prints any NaN as nan */
        return put(b, p, n) ? -2 : 0;
    }
    return put_repr(b, p, n, mode);
}

/* Seconds from integer microseconds: csv's f"{s:.6f}" or JSON's repr(s), s = float(f"{us}e-6").
 * Below 1e15 us the double nearest us/1e6 prints as the exact decimal (see above). */
static int put_seconds(buffer *b, long long us, int mode) {
    unsigned long long u = us < 0 ? 0ULL - (unsigned long long)us : (unsigned long long)us;
    if (u >= 1000000000000000ULL || (mode == AS_JSON && u && u < 100)) {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%llde-6", us);
        double x = PyOS_string_to_double(tmp, NULL, NULL);
        if (x == -1.0 && PyErr_Occurred()) return -2;
        char *text = mode == AS_CSV ? PyOS_double_to_string(x, 'f', 6, 0, NULL)
                                    : PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (!text) return -2;
        int r = put(b, text, (Py_ssize_t)strlen(text)) ? -2 : 0;
        PyMem_Free(text);
        return r;
    }
    char frac[7];
    unsigned long long f = u % 1000000ULL;
    for (int i = 5; i >= 0; i--) { frac[i] = (char)('0' + f % 10); f /= 10; }
    int digits = 6;
    if (mode == AS_JSON) { while (digits > 1 && frac[digits - 1] == '0') digits--; }
    if ((us < 0 && PUTS(b, "-")) || put_int(b, (long long)(u / 1000000ULL)) || PUTS(b, ".")
        || put(b, frac, digits)) return -2;
    return 0;
}

/* One kept row at p (up to its line end e) rewritten; -1 if it is not the kept form. */
static int rewrite_row(buffer *b, const char *p, const char *e, int mode, span *keys, span *json_keys, int nkeys) {
    long long micros;
    const char *iteration, *net = "0", *it_end, *net_end;
    Py_ssize_t net_n = 1;
    if (!starts(p, e, "{\"iteration\": ")) return -1;
    p += 14;
    iteration = p;
    while (p < e && (is_digit(*p) || (p == iteration && *p == '-'))) p++;
    it_end = p;
    if (it_end == iteration || !starts(p, e, ", ")) return -1;
    p += 2;
    if (starts(p, e, "\"net\": ")) {
        p += 7;
        net = p;
        while (p < e && is_digit(*p)) p++;
        net_end = p;
        net_n = net_end - net;
        if (!net_n || !starts(p, e, ", ")) return -1;
        p += 2;
    }
    if (!starts(p, e, "\"seconds\": ")) return -1;
    p += 11;
    int negative = p < e && *p == '-';
    if (negative) p++;
    if (!(p = integer(p, e, &micros))) return -1;
    if (negative) micros = -micros;
    if (!starts(p, e, "e-6, \"loss\": ")) return -1;
    p += 13;
    const char *loss = p;  /* not written by either: parse_log.py has no loss column but its output */
    while (p < e && *p != ',') p++;
    if (p == loss || !starts(p, e, ", \"lr\": ")) return -1;
    p += 8;
    const char *lr = p;
    while (p < e && *p != ',') p++;
    Py_ssize_t lr_n = p - lr;
    if (!lr_n || !starts(p, e, ", \"outputs\": {")) return -1;
    p += 14;
    int r;
    if (mode == AS_CSV) {
        if (put(b, iteration, it_end - iteration) || PUTS(b, ",")) return -2;
        if ((r = put_seconds(b, micros, mode)) || PUTS(b, ",")) return r ? r : -2;
        if ((r = put_cell(b, lr, lr_n, mode))) return r;
    } else {
        if (PUTS(b, "{\"iteration\": ") || put(b, iteration, it_end - iteration) || PUTS(b, ", \"net\": ")
            || put(b, net, net_n) || PUTS(b, ", \"seconds\": ")) return -2;
        if ((r = put_seconds(b, micros, mode)) || PUTS(b, ", \"lr\": ")) return r ? r : -2;
        if ((r = put_cell(b, lr, lr_n, mode)) || PUTS(b, ", \"outputs\": {")) return r ? r : -2;
    }
    for (int k = 0; k < nkeys; k++) {  /* every output in the table's order: the table is uniform */
        if (k && !starts(p, e, ", ")) return -1;
        if (k) p += 2;
        if (e - p < keys[k].n + 2 || memcmp(p, keys[k].p, keys[k].n) || memcmp(p + keys[k].n, ": ", 2)) return -1;
        p += keys[k].n + 2;
        const char *v = p;
        while (p < e && *p != ',' && *p != '}') p++;
        if (p == v) return -1;
        if (mode == AS_CSV) {
            if (PUTS(b, ",")) return -2;
        } else if ((k && PUTS(b, ", ")) || put(b, json_keys[k].p, json_keys[k].n) || PUTS(b, ": ")) {
            return -2;
        }
        if ((r = put_cell(b, v, p - v, mode))) return r;
    }
    if (e - p != 3 || memcmp(p, "}},", 3)) return -1;
    return (mode == AS_CSV ? PUTS(b, "\n") : PUTS(b, "}},\n")) ? -2 : 0;
}

PyDoc_STRVAR(rewrite_doc,
"rewrite(text, mode, keys, json_keys) -> str | None\n\n"
"A uniform table's kept rows (whole lines) as csv lines (mode 0: iteration, seconds, lr, outputs)\n"
"or the JSON writer's test passes (mode 1, each ending ',\\n'); keys: the kept JSON keys of the\n"
"outputs, json_keys: json.dumps of each name. None where a row is not of the kept form.");

static PyObject *rewrite(PyObject *self, PyObject *args) {
    PyObject *text, *keys, *json_keys;
    int mode;
    if (!PyArg_ParseTuple(args, "UiO!O!", &text, &mode, &PyTuple_Type, &keys, &PyTuple_Type, &json_keys)) return NULL;
    Py_ssize_t nkeys = PyTuple_GET_SIZE(keys);
    if (nkeys > MAX_NAMES || PyTuple_GET_SIZE(json_keys) != nkeys || (mode != AS_CSV && mode != AS_JSON)) {
        PyErr_SetString(PyExc_ValueError, "keys");
        return NULL;
    }
    span key[MAX_NAMES], json_key[MAX_NAMES];
    for (Py_ssize_t k = 0; k < nkeys; k++)
        if (span_of(PyTuple_GET_ITEM(keys, k), &key[k]) || span_of(PyTuple_GET_ITEM(json_keys, k), &json_key[k]))
            return NULL;
    Py_ssize_t size;
    const char *p = PyUnicode_AsUTF8AndSize(text, &size), *end;
    if (!p) return NULL;
    end = p + size;
    buffer b = {NULL, 0, 0};
    if (grow(&b, size + size / 4 + 64)) return NULL;
    PyObject *result = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        if (!nl) break;
        int r = rewrite_row(&b, p, nl, mode, key, json_key, (int)nkeys);
        if (r == -2) goto done;
        if (r) break;
        p = nl + 1;
    }
    result = p == end ? PyUnicode_FromStringAndSize(b.p, b.n) : (Py_INCREF(Py_None), Py_None);
done:
    PyMem_Free(b.p);
    return result;
}

PyDoc_STRVAR(nulls_doc,
"nulls(data) -> bytes\n\n"
"Kept rows' UTF-8 bytes with every value nan, -nan, inf or -inf written null, in one pass:\n"
"curve.py's _nonfinite_to_null (a value follows ': ', which no kept key holds).");

static PyObject *nulls(PyObject *self, PyObject *arg) {
    char *data;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(arg, &data, &size)) return NULL;
    buffer b = {NULL, 0, 0};
    if (grow(&b, size + 64)) return NULL;
    const char *p = data, *end = data + size, *copied = data;
    while ((p = memchr(p, ':', end - p)) != NULL) {
        const char *v = p + 2;
        if (v <= end && p[1] == ' ') {
            const char *w = v + (v < end && *v == '-');
            if (end - w >= 3 && (memcmp(w, "nan", 3) == 0 || memcmp(w, "inf", 3) == 0)) {
                if (put(&b, copied, v - copied) || PUTS(&b, "null")) { PyMem_Free(b.p); return NULL; }
                copied = p = w + 3;
                continue;
            }
        }
        p++;
        if (p >= end) break;
    }
    PyObject *result = copied == data ? (Py_INCREF(arg), arg)
                       : put(&b, copied, end - copied) ? NULL : PyBytes_FromStringAndSize(b.p, b.n);
    PyMem_Free(b.p);
    return result;
}

PyDoc_STRVAR(setup_doc,
"setup(known_words, name_forms)\n\n"
"lines.py's first words and name forms (bytes), so that its rule is not written twice.");

static PyObject *known_refs;

static PyObject *setup(PyObject *self, PyObject *args) {
    PyObject *words, *forms;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &words, &PyTuple_Type, &forms)) return NULL;
    if (PyTuple_GET_SIZE(words) > MAX_WORDS || PyTuple_GET_SIZE(forms) > 8) {
        PyErr_SetString(PyExc_ValueError, "too many words");
        return NULL;
    }
    Py_XDECREF(known_refs);
    known_refs = Py_BuildValue("(OO)", words, forms);  /* keeps the bytes the spans point into */
    nknown = (int)PyTuple_GET_SIZE(words);
    nforms = (int)PyTuple_GET_SIZE(forms);
    for (int i = 0; i < nknown; i++) if (span_of(PyTuple_GET_ITEM(words, i), &known_words[i])) return NULL;
    for (int i = 0; i < nforms; i++) if (span_of(PyTuple_GET_ITEM(forms, i), &name_forms[i])) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"setup", setup, METH_VARARGS, setup_doc},
    {"rewrite", rewrite, METH_VARARGS, rewrite_doc},
    {"nulls", nulls, METH_O, nulls_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", "The log reader's compiled hot loop.", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }

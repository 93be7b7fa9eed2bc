/* The compiled half of the parse_log.py drop-in (caffemem/logs/parselog.py): the same per-line
 * rule, on a piece's UTF-8 bytes, writing finished rows straight as CSV text.
 *
 * parselog.py is the definition; this file only takes a line when it is sure to do exactly what
 * ParseLog._lines would do with it, and otherwise stops before that line (nothing of it applied)
 * so that Python reads it. It stops at:
 *   - a line whose stamp is not the usual glog one, unless its stamp certainly does not parse;
 *   - a month that goes back (the year moves on), a year out of 1..9999;
 *   - a non-ASCII byte where a pattern's \d, \s or \S could take it (Python's classes are
 *     Unicode), or where a character position counts (line[1:3], the stamp);
 *   - an output whose name has no column yet (the first rows) or is a head column;
 *   - a row to finish while its table has fewer than two finished rows (the first row waits for
 *     the second's learning rate: Python does that), numbers too long for its buffer.
 * It also declines to start when the state on the ParseLog is one it does not represent (an open
 * row holding a name without a column, a month text that is not two ASCII characters).
 *
 * Because a non-ASCII byte is only ever skipped over or handed back, the raw bytes of a piece
 * without "\r" read exactly as its decoded text does (an invalid byte decodes to U+FFFD, also
 * non-ASCII, and decoding never takes an ASCII byte into a replacement): ParseLog gives it bytes
 * where it can, and no decoding is done for the lines C takes.
 *
 * Numbers are read as float() reads them and written as repr(float) writes them (so as the csv
 * module does): a decimal of at most 15 significant digits is its own repr (see Num), anything
 * else goes through PyOS_string_to_double and PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0),
 * Python's own routines. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <stdint.h>

#define NUMBER_MAX 320 /* longest number text read here (longer: Python) */

static PyObject *s_iteration, *s_lr, *s_last_month, *s_same_month, *s_year, *s_start_ordinal,
    *s_start_micros, *s_open, *s_columns, *s_width, *s_finished;

/* ------------------------------------------------------------------ small helpers */

/* What a step says: no (match, number), yes, or hand the line to Python. */
enum { NO = 0, YES = 1, PYTHON = 2 };

/* str.isspace() and the re module's \s on an ASCII character (the file separators count too). */
static inline int py_space(unsigned char c) {
    return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* The first ``what`` (n bytes) in [p, end): memchr for its byte at ``key`` (one rare in log lines:
 * the '#' of "net output #", the '=' of "lr = "), then the rest compared. Cheaper than memmem on
 * lines of a hundred bytes. */
static const char *find_at(const char *p, const char *end, const char *what, size_t n, size_t key) {
    const char *s = p + key;
    while (s < end) {
        const char *k = memchr(s, what[key], (size_t)(end - s));
        if (!k)
            return NULL;
        const char *at = k - key;
        if ((size_t)(end - at) >= n && memcmp(at, what, n) == 0)
            return at;
        s = k + 1;
    }
    return NULL;
}

/* find(p, end, literal): the key byte is the literal's '#' or '=', else its first. */
#define KEY_OF(lit) (strchr(lit, '#') ? (size_t)(strchr(lit, '#') - (lit)) \
                     : strchr(lit, '=') ? (size_t)(strchr(lit, '=') - (lit)) : 0)
#define find(p, end, lit, n) find_at((p), (end), (lit), (n), KEY_OF(lit))

/* float(text) of text[0:n] (n < NUMBER_MAX): 0 when it is no number, -1 on a real error. */
static int to_double(const char *text, Py_ssize_t n, double *out) {
    char buf[NUMBER_MAX + 1];
    memcpy(buf, text, (size_t)n);
    buf[n] = '\0';
    double x = PyOS_string_to_double(buf, NULL, NULL);
    if (x == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    *out = x;
    return 1;
}

/* The proleptic Gregorian ordinal of a day (date.toordinal()), 0 when there is no such day. */
static long long ordinal(long year, int month, int day) {
    static const int before[13] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const int length[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > length[month] + (month == 2 && leap))
        return 0;
    long long y = year - 1;
    return y * 365 + y / 4 - y / 100 + y / 400 + before[month] + (month > 2 && leap) + day;
}

/* ------------------------------------------------------------------ output buffer */

typedef struct {
    char *data;
    Py_ssize_t size, used;
} Buf;

static int buf_room(Buf *b, Py_ssize_t more) {
    if (b->used + more <= b->size)
        return 0;
    Py_ssize_t size = b->size ? b->size : 1 << 16;
    while (size < b->used + more)
        size *= 2;
    char *data = PyMem_Realloc(b->data, (size_t)size);
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->size = size;
    return 0;
}

/* ------------------------------------------------------------------ numbers */

/* A value and its repr. Most values are written without dtoa: for a decimal of at most 15
 * significant digits in the normal range, repr(float(decimal)) is that decimal itself (15 digits
 * always survive the double and back: DBL_DIG), so the text is made from its digits. ``x`` is
 * worked out from the text only when Python needs the float (the open row handed back). */
typedef struct {
    double x;
    int has_x;
    int len;
    char text[40];
} Num;

/* repr of the decimal (-1)^neg 0.G x 10^decpt (G: 1-17 digits, no leading or trailing zeros), as
 * Python's format_float_short writes it in 'r' mode with Py_DTSF_ADD_DOT_0. */
static void num_decimal(Num *v, int neg, const char *g, int ng, int decpt) {
    char *p = v->text;
    if (neg)
        *p++ = '-';
    if (decpt <= -4 || decpt > 16) { /* exponent form: 1e-05, 1.5e+16 */
        int e = decpt - 1;
        *p++ = g[0];
        if (ng > 1) {
            *p++ = '.';
            memcpy(p, g + 1, (size_t)ng - 1);
            p += ng - 1;
        }
        *p++ = 'e';
        *p++ = e < 0 ? '-' : '+';
        if (e < 0)
            e = -e;
        char tmp[8];
        int n = 0;
        do {
            tmp[n++] = (char)('0' + e % 10);
            e /= 10;
        } while (e);
        if (n < 2)
            tmp[n++] = '0';
        while (n)
            *p++ = tmp[--n];
    } else if (decpt <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int k = 0; k < -decpt; k++)
            *p++ = '0';
        memcpy(p, g, (size_t)ng);
        p += ng;
    } else if (decpt >= ng) {
        memcpy(p, g, (size_t)ng);
        p += ng;
        for (int k = ng; k < decpt; k++)
            *p++ = '0';
        *p++ = '.';
        *p++ = '0';
    } else {
        memcpy(p, g, (size_t)decpt);
        p += decpt;
        *p++ = '.';
        memcpy(p, g + decpt, (size_t)(ng - decpt));
        p += ng - decpt;
    }
    *p = '\0';
    v->len = (int)(p - v->text);
    v->has_x = 0;
}

static void num_zero(Num *v, int neg) {
    strcpy(v->text, neg ? "-0.0" : "0.0");
    v->len = neg ? 4 : 3;
    v->x = neg ? -0.0 : 0.0;
    v->has_x = 1;
}

/* x and its repr by Python's own routine. */
static int num_double(Num *v, double x) {
    char *text = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!text)
        return -1;
    size_t n = strlen(text);
    if (n >= sizeof(v->text)) { /* (cannot be: at most 24 characters) */
        PyMem_Free(text);
        PyErr_SetString(PyExc_SystemError, "_parselog: a repr longer than expected");
        return -1;
    }
    memcpy(v->text, text, n + 1);
    PyMem_Free(text);
    v->len = (int)n;
    v->x = x;
    v->has_x = 1;
    return 0;
}

static int num_x(Num *v, double *out) {
    if (!v->has_x) {
        double x = PyOS_string_to_double(v->text, NULL, NULL);
        if (x == -1.0 && PyErr_Occurred())
            return -1;
        v->x = x;
        v->has_x = 1;
    }
    *out = v->x;
    return 0;
}

/* float(text[0:n]) for text of [-+.0-9eE] only: YES, NO (float() raises ValueError), -1. Python's
 * grammar for such text: [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits]. */
static int num_text(Num *v, const char *text, Py_ssize_t n) {
    const char *c = text, *end = text + n;
    int neg = 0;
    if (c < end && (*c == '-' || *c == '+'))
        neg = *c++ == '-';
    char g[16];
    int ng = 0, zeros = 0, before = 0, digits = 0, point = 0, slow = 0;
    /* before: digits before the point (from the first significant one); zeros: zeros waiting */
    int lead = 1, scale = 0; /* scale: leading zeros after the point (before the first significant digit) */
    for (; c < end; c++) {
        if (*c == '.') {
            if (point)
                return NO;
            point = 1;
            continue;
        }
        if (!is_digit((unsigned char)*c))
            break;
        digits++;
        if (lead && *c == '0') {
            if (point)
                scale++;
            continue;
        }
        lead = 0;
        if (!point)
            before++;
        if (*c == '0') {
            zeros++;
            continue;
        }
        if (ng + zeros + 1 > 15) {
            slow = 1;
            continue;
        }
        while (zeros) {
            g[ng++] = '0';
            zeros--;
        }
        g[ng++] = *c;
    }
    if (!digits)
        return NO;
    long e = 0;
    if (c < end) {
        if (*c != 'e' && *c != 'E')
            return NO;
        c++;
        int eneg = 0;
        if (c < end && (*c == '-' || *c == '+'))
            eneg = *c++ == '-';
        const char *d = c;
        while (c < end && is_digit((unsigned char)*c)) {
            if (c - d < 6)
                e = e * 10 + (*c - '0');
            c++;
        }
        if (c == d || c != end)
            return NO;
        if (c - d >= 6)
            slow = 1;
        if (eneg)
            e = -e;
    }
    if (!slow && !ng)
        return num_zero(v, neg), YES;
    long decpt = before - scale + e; /* 0.G x 10^decpt */
    if (!slow && decpt >= -300 && decpt <= 300) {
        num_decimal(v, neg, g, ng, (int)decpt);
        return YES;
    }
    if (n >= NUMBER_MAX)
        return PYTHON;
    double x;
    int ok = to_double(text, n, &x);
    if (ok <= 0)
        return ok < 0 ? -1 : NO;
    return num_double(v, x) < 0 ? -1 : YES;
}

/* An integer's digits (the iteration): the float and its repr. */
static int num_integer(Num *v, const char *d, Py_ssize_t n) {
    while (n > 1 && *d == '0') {
        d++;
        n--;
    }
    if (n <= 15) {
        long long k = 0;
        for (Py_ssize_t i = 0; i < n; i++)
            k = k * 10 + (d[i] - '0');
        if (!k)
            return num_zero(v, 0), 0;
        int ng = (int)n;
        while (d[ng - 1] == '0')
            ng--;
        num_decimal(v, 0, d, ng, (int)n);
        v->x = (double)k;
        v->has_x = 1;
        return 0;
    }
    double x;
    if (n >= NUMBER_MAX)
        return 1;
    int ok = to_double(d, n, &x);
    if (ok <= 0)
        return ok < 0 ? -1 : 1;
    return num_double(v, x);
}

/* Seconds from exact microseconds: (micros / 1e6) and its repr. */
static int num_micros(Num *v, long long micros) {
    if (!micros)
        return num_zero(v, 0), 0;
    unsigned long long a = micros < 0 ? (unsigned long long)(-micros) : (unsigned long long)micros;
    double x = (double)micros / 1e6;
    if (a >= 1000000000000000ULL)
        return num_double(v, x);
    char tmp[20], g[20];
    int n = 0;
    while (a) {
        tmp[n++] = (char)('0' + a % 10);
        a /= 10;
    }
    int ng = 0;
    for (int k = n - 1; k >= 0; k--)
        g[ng++] = tmp[k];
    int decpt = n - 6;
    while (g[ng - 1] == '0')
        ng--;
    num_decimal(v, micros < 0, g, ng, decpt);
    v->x = x;
    v->has_x = 1;
    return 0;
}

static int buf_num(Buf *b, const Num *v) {
    if (buf_room(b, v->len) < 0)
        return -1;
    memcpy(b->data + b->used, v->text, (size_t)v->len);
    b->used += v->len;
    return 0;
}

/* ------------------------------------------------------------------ a table (TableState) */

typedef struct {
    PyObject *names;       /* new ref: the column names (a list), or the open row's keys */
    Py_ssize_t ncols;
    const char **name;     /* UTF-8 of each name (owned by the str objects in names) */
    Py_ssize_t *name_len;
    Num *value;
    char *present;
    int open;              /* an open row */
    Py_ssize_t count;      /* len(row) of the open row */
    Py_ssize_t width, finished, emitted;
    Py_ssize_t guess;      /* where the next output's name is likely (outputs come in order) */
    Buf out;
} Table;

static void table_free(Table *t) {
    Py_CLEAR(t->names);
    PyMem_Free(t->name);
    PyMem_Free(t->name_len);
    PyMem_Free(t->value);
    PyMem_Free(t->present);
    PyMem_Free(t->out.data);
    t->name = NULL;
    t->name_len = NULL;
    t->value = NULL;
    t->present = NULL;
    t->out.data = NULL;
}

static Py_ssize_t attr_size(PyObject *obj, PyObject *name) {
    PyObject *v = PyObject_GetAttr(obj, name);
    if (!v)
        return -1;
    Py_ssize_t n = PyLong_AsSsize_t(v);
    Py_DECREF(v);
    return n;
}

/* Load a TableState: 1 done, 0 a state not represented here, -1 error. */
static int table_load(Table *t, PyObject *state) {
    memset(t, 0, sizeof(*t));
    t->width = attr_size(state, s_width);
    if (t->width < 0 && PyErr_Occurred())
        return -1;
    t->finished = attr_size(state, s_finished);
    if (t->finished < 0 && PyErr_Occurred())
        return -1;
    PyObject *open = PyObject_GetAttr(state, s_open);
    if (!open)
        return -1;
    if (open != Py_None && !PyDict_CheckExact(open)) {
        Py_DECREF(open);
        return 0;
    }
    if (t->finished >= 1) {
        PyObject *columns = PyObject_GetAttr(state, s_columns);
        if (!columns) {
            Py_DECREF(open);
            return -1;
        }
        t->names = PySequence_List(columns);
        Py_DECREF(columns);
    } else if (open != Py_None) {
        t->names = PyDict_Keys(open); /* the first row: its keys in their order */
    } else {
        t->names = PyList_New(0);
    }
    if (!t->names) {
        Py_DECREF(open);
        return -1;
    }
    Py_ssize_t n = t->ncols = PyList_GET_SIZE(t->names);
    t->name = PyMem_Calloc((size_t)n + 1, sizeof(char *));
    t->name_len = PyMem_Calloc((size_t)n + 1, sizeof(Py_ssize_t));
    t->value = PyMem_Calloc((size_t)n + 1, sizeof(Num));
    t->present = PyMem_Calloc((size_t)n + 1, 1);
    if (!t->name || !t->name_len || !t->value || !t->present) {
        Py_DECREF(open);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *key = PyList_GET_ITEM(t->names, k);
        if (!PyUnicode_Check(key)) {
            Py_DECREF(open);
            return 0;
        }
        t->name[k] = PyUnicode_AsUTF8AndSize(key, &t->name_len[k]);
        if (!t->name[k]) {
            Py_DECREF(open);
            return -1;
        }
    }
    if (n < 3 && (t->finished >= 1 || open != Py_None)) { /* (always the three head columns first) */
        Py_DECREF(open);
        return 0;
    }
    if (open != Py_None) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        t->open = 1;
        while (PyDict_Next(open, &pos, &key, &value)) {
            Py_ssize_t k = 0;
            int is_str = PyUnicode_Check(key);
            if (!is_str || !PyFloat_CheckExact(value)) {
                Py_DECREF(open);
                return 0;
            }
            while (k < n && PyUnicode_Compare(key, PyList_GET_ITEM(t->names, k)) != 0)
                k++;
            if (PyErr_Occurred()) {
                Py_DECREF(open);
                return -1;
            }
            if (k == n) { /* a name without a column (counted as dropped when its row is finished) */
                Py_DECREF(open);
                return 0;
            }
            t->present[k] = 1;
            if (num_double(&t->value[k], PyFloat_AS_DOUBLE(value)) < 0) {
                Py_DECREF(open);
                return -1;
            }
            t->count++;
        }
        if (!t->present[0]) {
            Py_DECREF(open);
            return 0;
        }
    }
    Py_DECREF(open);
    return 1;
}

/* Put the open row and the count back on the TableState. */
static int table_store(Table *t, PyObject *state) {
    PyObject *open;
    if (t->open) {
        open = PyDict_New();
        if (!open)
            return -1;
        for (Py_ssize_t k = 0; k < t->ncols; k++) {
            if (!t->present[k])
                continue;
            double x;
            if (num_x(&t->value[k], &x) < 0) {
                Py_DECREF(open);
                return -1;
            }
            PyObject *v = PyFloat_FromDouble(x);
            if (!v || PyDict_SetItem(open, PyList_GET_ITEM(t->names, k), v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(open);
                return -1;
            }
            Py_DECREF(v);
        }
    } else {
        open = Py_NewRef(Py_None);
    }
    int failed = PyObject_SetAttr(state, s_open, open) < 0;
    Py_DECREF(open);
    if (failed)
        return -1;
    PyObject *finished = PyLong_FromSsize_t(t->finished + t->emitted);
    if (!finished)
        return -1;
    failed = PyObject_SetAttr(state, s_finished, finished) < 0;
    Py_DECREF(finished);
    return failed ? -1 : 0;
}

/* The column of an output's name: -1 when it has none (or is a head column: Python). */
static Py_ssize_t table_column(Table *t, const char *name, Py_ssize_t len) {
    Py_ssize_t n = t->ncols, g = t->guess;
    if (g >= 3 && g < n && t->name_len[g] == len && memcmp(t->name[g], name, (size_t)len) == 0)
        return g;
    for (Py_ssize_t k = 0; k < n; k++)
        if (t->name_len[k] == len && memcmp(t->name[k], name, (size_t)len) == 0)
            return k < 3 ? -1 : k;
    return -1;
}

/* The open row as a CSV line: its values in column order, "" where missing. */
static int table_emit(Table *t, char delimiter) {
    for (Py_ssize_t k = 0; k < t->ncols; k++) {
        if (k && (buf_room(&t->out, 1) < 0 || (t->out.data[t->out.used++] = delimiter, 0)))
            return -1;
        if (t->present[k] && buf_num(&t->out, &t->value[k]) < 0)
            return -1;
    }
    if (buf_room(&t->out, 2) < 0)
        return -1;
    t->out.data[t->out.used++] = '\r';
    t->out.data[t->out.used++] = '\n';
    t->emitted++;
    t->open = 0;
    return 0;
}

/* ------------------------------------------------------------------ the patterns */

/* ITERATION.search: the value of the first "Iteration (\d+)". */
static int match_iteration(const char *p, const char *end, Num *iteration) {
    const char *q = p;
    while ((q = find(q, end, "Iteration ", 10)) != NULL) {
        const char *d = q + 10, *e = d;
        q = d;
        while (e < end && is_digit((unsigned char)*e))
            e++;
        if (e < end && (unsigned char)*e >= 0x80)
            return PYTHON; /* (a Unicode digit goes on the run) */
        if (e == d)
            continue;
        int ok = num_integer(iteration, d, e - d);
        return ok < 0 ? -1 : ok ? PYTHON : YES;
    }
    return NO;
}

/* LEARNING_RATE.search's group 1, [-+]?[0-9]*\.?[0-9]+([eE]?[-+]?[0-9]+)? after some "lr = ",
 * matched as the regex engine matches it (greedy, backtracking; only ASCII classes). */
static int match_lr(const char *p, const char *end, const char **text, Py_ssize_t *len) {
    const char *q = p;
    while ((q = find(q, end, "lr = ", 5)) != NULL) {
        const char *s = q + 5, *c = s;
        q = s;
        if (c < end && (*c == '-' || *c == '+'))
            c++;
        const char *d = c;
        while (c < end && is_digit((unsigned char)*c))
            c++;
        Py_ssize_t a = c - d;
        if (c + 1 < end && *c == '.' && is_digit((unsigned char)c[1])) {
            c++;
            while (c < end && is_digit((unsigned char)*c))
                c++;
        } else if (a == 0) {
            continue; /* [0-9]+ has nothing to take */
        }
        /* the optional exponent: [eE]?[-+]?[0-9]+, all or nothing */
        const char *x = c;
        if (x < end && (*x == 'e' || *x == 'E'))
            x++;
        if (x < end && (*x == '-' || *x == '+'))
            x++;
        if (x < end && is_digit((unsigned char)*x)) {
            while (x < end && is_digit((unsigned char)*x))
                x++;
            c = x;
        }
        *text = s;
        *len = c - s;
        return YES;
    }
    return NO;
}

/* TRAIN_OUTPUT / TEST_OUTPUT .search after ``marker``: groups 2 (name) and 3 (value). */
static int match_output(const char *p, const char *end, const char *marker, size_t mlen,
                        const char **name, Py_ssize_t *name_len, const char **value, Py_ssize_t *value_len) {
    const char *q = p;
    while ((q = find(q, end, marker, mlen)) != NULL) {
        const char *c = q + mlen, *d;
        q = c;
        d = c;
        while (c < end && is_digit((unsigned char)*c))
            c++;
        if (c < end && (unsigned char)*c >= 0x80)
            return PYTHON;
        if (c == d || end - c < 2 || c[0] != ':' || c[1] != ' ')
            continue;
        c += 2;
        const char *n = c;
        while (c < end && (unsigned char)*c < 0x80 && !py_space((unsigned char)*c))
            c++;
        if (c < end && (unsigned char)*c >= 0x80)
            return PYTHON; /* the name may go on, or end at a Unicode space */
        if (c == n || end - c < 3 || c[0] != ' ' || c[1] != '=' || c[2] != ' ')
            continue;
        const char *v = c + 3, *e = v;
        *name = n;
        *name_len = c - n;
        *value = v;
        /* ([-+]?(?:nan|inf)|[-+]?1\.#[A-Za-z]+|[.\deE+-]+), the first alternative that matches */
        const char *s = v;
        if (s < end && (*s == '-' || *s == '+'))
            s++;
        if (end - s >= 3 && ((((s[0] | 32) == 'n') && ((s[1] | 32) == 'a') && ((s[2] | 32) == 'n')) ||
                             (((s[0] | 32) == 'i') && ((s[1] | 32) == 'n') && ((s[2] | 32) == 'f')))) {
            *value_len = s + 3 - v;
            return YES;
        }
        if (end - s >= 4 && s[0] == '1' && s[1] == '.' && s[2] == '#' &&
            (((unsigned char)s[3] | 32) >= 'a' && ((unsigned char)s[3] | 32) <= 'z')) {
            e = s + 3;
            while (e < end && ((unsigned char)*e | 32) >= 'a' && ((unsigned char)*e | 32) <= 'z')
                e++;
            *value_len = e - v;
            return YES;
        }
        while (e < end && (is_digit((unsigned char)*e) || *e == '.' || *e == 'e' || *e == 'E' || *e == '+' ||
                           *e == '-'))
            e++;
        if (e < end && (unsigned char)*e >= 0x80)
            return PYTHON;
        if (e == v)
            continue;
        *value_len = e - v;
        return YES;
    }
    return NO;
}

/* number(): a value's text as a float (1.#INF, 1.#QNAN by their letters; nan, inf kept). */
static int value_number(const char *text, Py_ssize_t n, Num *out) {
    if (memchr(text, '#', (size_t)n)) {
        int inf = 0;
        for (Py_ssize_t k = 0; k + 2 < n; k++)
            if ((text[k] | 32) == 'i' && (text[k + 1] | 32) == 'n' && (text[k + 2] | 32) == 'f')
                inf = 1;
        double x = inf ? Py_HUGE_VAL : Py_NAN;
        return num_double(out, text[0] == '-' ? -x : x) < 0 ? -1 : YES;
    }
    const char *c = text + (n && (*text == '-' || *text == '+'));
    if (c < text + n && ((*c | 32) == 'n' || (*c | 32) == 'i')) { /* nan, inf: float() reads them */
        double x;
        int ok = to_double(text, n, &x);
        if (ok <= 0)
            return ok < 0 ? -1 : NO;
        return num_double(out, x) < 0 ? -1 : YES;
    }
    return num_text(out, text, n);
}

/* The usual glog stamp at the line's start (GLOG_STAMP): YES, NO, or PYTHON (a non-ASCII byte
 * where \s could take it). */
static int glog_stamp(const unsigned char *l, Py_ssize_t n) {
    static const char shape[] = "x0000 00:00:00.000000";
    if (n < 22 || py_space(l[0]))
        return NO; /* (l[0] is ASCII: checked before) */
    for (int k = 1; k < 21; k++) {
        if (shape[k] == '0' ? !is_digit(l[k]) : l[k] != (unsigned char)shape[k])
            return NO;
    }
    if (l[6] > '2' || (l[6] == '2' && l[7] > '3') || l[9] > '5' || l[12] > '5')
        return NO;
    if (l[21] >= 0x80)
        return PYTHON;
    return py_space(l[21]) ? YES : NO;
}

/* A stamp that is not the usual one: NO when stamp() certainly does not parse it (fewer than two
 * words, or a first word whose [1:3] is no int), else PYTHON. */
static int odd_stamp(const unsigned char *l, Py_ssize_t n) {
    Py_ssize_t k = 0;
    while (k < n && l[k] < 0x80 && py_space(l[k]))
        k++;
    Py_ssize_t w = k;
    while (k < n && l[k] < 0x80 && !py_space(l[k]))
        k++;
    if (k < n && l[k] >= 0x80)
        return PYTHON;
    Py_ssize_t first = k - w;
    while (k < n && l[k] < 0x80 && py_space(l[k]))
        k++;
    if (k < n && l[k] >= 0x80)
        return PYTHON;
    if (k == n || first < 4)
        return NO;
    unsigned char a = l[w + 1], b = l[w + 2];
    if (!(is_digit(a) || a == '+' || a == '-') || !is_digit(b))
        return NO;
    return PYTHON;
}

/* ------------------------------------------------------------------ the line loop */

typedef struct {
    Num iteration, lr;
    long last_month, year;
    long long start_ordinal, start_micros;
    int same_month_set;    /* same_month is not None */
    unsigned char same_month[2];
} State;

typedef struct {
    int found;             /* an output for this table */
    Py_ssize_t column;
    Num value;
    int new_row;           /* it starts a row (finishing the open one, if any) */
} Plan;

/* Plan one table's output on the line: YES (plan set), NO (none), PYTHON, -1. */
static int plan_output(Table *t, const char *p, const char *end, const char *marker, size_t mlen,
                       const Num *iteration, Plan *plan) {
    const char *name, *value;
    Py_ssize_t name_len, value_len;
    plan->found = 0;
    int m = match_output(p, end, marker, mlen, &name, &name_len, &value, &value_len);
    if (m != YES)
        return m;
    int v = value_number(value, value_len, &plan->value);
    if (v != YES)
        return v;
    Py_ssize_t k = table_column(t, name, name_len);
    if (k < 0)
        return PYTHON;
    plan->column = k;
    plan->new_row = !(t->open && t->value[0].x == iteration->x);
    Py_ssize_t done = t->finished + t->emitted;
    if (plan->new_row) {
        if (t->open && done < 2)
            return PYTHON;
        if (4 == t->width && done + t->open < 2)
            return PYTHON;
    } else if (t->count + !t->present[k] == t->width && done < 2) {
        return PYTHON;
    }
    plan->found = 1;
    return YES;
}

static int apply_output(Table *t, Plan *plan, const Num *iteration, const Num *seconds, const Num *lr,
                        char delimiter) {
    Py_ssize_t k = plan->column;
    if (plan->new_row) {
        if (t->open && table_emit(t, delimiter) < 0)
            return -1;
        memset(t->present, 0, (size_t)t->ncols);
        t->open = 1;
        t->present[0] = t->present[1] = t->present[2] = 1;
        t->value[0] = *iteration;
        t->value[1] = *seconds;
        t->value[2] = *lr;
        t->count = 3;
    }
    t->count += !t->present[k];
    t->present[k] = 1;
    t->value[k] = plan->value;
    t->guess = k + 1;
    if (t->count == t->width)
        return table_emit(t, delimiter);
    return 0;
}

/* One line: YES taken, PYTHON (nothing of it applied), -1 error. */
static int take_line(State *st, Table *train, Table *test, const char *p, const char *end, char delimiter) {
    const unsigned char *l = (const unsigned char *)p;
    Py_ssize_t n = end - p;
    Num new_iteration, new_lr, seconds;
    const Num *iteration = &st->iteration, *lr = &st->lr;
    int m = match_iteration(p, end, &new_iteration);
    if (m < 0 || m == PYTHON)
        return m;
    if (m == YES)
        iteration = &new_iteration;
    if (iteration->x < 0) {
        st->iteration = *iteration;
        return YES;
    }
    if (n && l[0] >= 0x80)
        return PYTHON; /* (its first character: line[:1].isspace(), line[1:3] are characters) */
    const char *at_lr = find(p, end, "lr = ", 5);
    const char *at_output = find(p, end, "net output #", 12);
    if (!at_lr && !at_output && st->same_month_set && n >= 3 && l[1] == st->same_month[0] &&
        l[2] == st->same_month[1] && !py_space(l[0])) {
        if (iteration != &st->iteration)
            st->iteration = *iteration;
        return YES;
    }
    int g = glog_stamp(l, n);
    if (g == PYTHON)
        return PYTHON;
    if (g == NO) {
        if (odd_stamp(l, n) == PYTHON)
            return PYTHON;
        if (iteration != &st->iteration)
            st->iteration = *iteration; /* no stamp: skipped */
        return YES;
    }
    int month = (l[1] - '0') * 10 + (l[2] - '0');
    long long day = ordinal(st->year, month, (l[3] - '0') * 10 + (l[4] - '0'));
    if (!day) {
        if (st->year < 1 || st->year > 9999)
            return PYTHON;
        if (iteration != &st->iteration)
            st->iteration = *iteration; /* no such day: skipped */
        return YES;
    }
    if (month < st->last_month)
        return PYTHON; /* the year moves on */
    Plan plans[2];
    plans[0].found = plans[1].found = 0;
    if (at_lr) {
        const char *text;
        Py_ssize_t len;
        if (match_lr(at_lr, end, &text, &len) == YES) {
            int ok = num_text(&new_lr, text, len);
            if (ok < 0 || ok == PYTHON)
                return ok;
            if (ok == YES)
                lr = &new_lr;
        }
    }
    if (at_output) {
        const char *from = at_output - 6 < p ? p : at_output - 6;
        int a = plan_output(train, from, end, "Train net output #", 18, iteration, &plans[0]);
        if (a < 0 || a == PYTHON)
            return a;
        from = at_output - 5 < p ? p : at_output - 5;
        int b = plan_output(test, from, end, "Test net output #", 17, iteration, &plans[1]);
        if (b < 0 || b == PYTHON)
            return b;
        if ((plans[0].found && plans[0].new_row) || (plans[1].found && plans[1].new_row)) {
            long long micros = (day - st->start_ordinal) * 86400000000LL - st->start_micros +
                               ((l[6] - '0') * 10 + (l[7] - '0')) * 3600000000LL +
                               ((l[9] - '0') * 10 + (l[10] - '0')) * 60000000LL +
                               ((l[12] - '0') * 10 + (l[13] - '0')) * 1000000LL;
            long long frac = 0;
            for (int k = 15; k < 21; k++)
                frac = frac * 10 + (l[k] - '0');
            micros += frac;
            if (micros > (1LL << 53) || micros < -(1LL << 53))
                return PYTHON; /* (no longer exact in a double: Python's int division) */
            if (num_micros(&seconds, micros) < 0)
                return -1;
        }
    }
    /* sure of the whole line: apply it */
    if (iteration != &st->iteration)
        st->iteration = *iteration;
    if (lr != &st->lr)
        st->lr = *lr;
    st->last_month = month;
    st->same_month_set = 1;
    st->same_month[0] = l[1];
    st->same_month[1] = l[2];
    if (plans[0].found && apply_output(train, &plans[0], &st->iteration, &seconds, &st->lr, delimiter) < 0)
        return -1;
    if (plans[1].found && apply_output(test, &plans[1], &st->iteration, &seconds, &st->lr, delimiter) < 0)
        return -1;
    return YES;
}

/* ------------------------------------------------------------------ the entry point */

static int get_double(PyObject *obj, PyObject *name, double *out) {
    PyObject *v = PyObject_GetAttr(obj, name);
    if (!v)
        return -1;
    *out = PyFloat_AsDouble(v);
    Py_DECREF(v);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int get_long(PyObject *obj, PyObject *name, long long *out) {
    PyObject *v = PyObject_GetAttr(obj, name);
    if (!v)
        return -1;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int set_double(PyObject *obj, PyObject *name, double x) {
    PyObject *v = PyFloat_FromDouble(x);
    if (!v)
        return -1;
    int r = PyObject_SetAttr(obj, name, v);
    Py_DECREF(v);
    return r;
}

static int set_long(PyObject *obj, PyObject *name, long long x) {
    PyObject *v = PyLong_FromLongLong(x);
    if (!v)
        return -1;
    int r = PyObject_SetAttr(obj, name, v);
    Py_DECREF(v);
    return r;
}

/* Load the ParseLog's state: 1, 0 (not represented here), -1. */
static int state_load(State *st, PyObject *parse) {
    long long year, last_month;
    double iteration, lr;
    if (get_double(parse, s_iteration, &iteration) < 0 || get_double(parse, s_lr, &lr) < 0 ||
        get_long(parse, s_last_month, &last_month) < 0 || get_long(parse, s_year, &year) < 0 ||
        get_long(parse, s_start_ordinal, &st->start_ordinal) < 0 ||
        get_long(parse, s_start_micros, &st->start_micros) < 0)
        return -1;
    if (num_double(&st->iteration, iteration) < 0 || num_double(&st->lr, lr) < 0)
        return -1;
    st->year = (long)year;
    st->last_month = (long)last_month;
    if (year < 1 || year > 9999)
        return 0;
    PyObject *same = PyObject_GetAttr(parse, s_same_month);
    if (!same)
        return -1;
    int ok = 1;
    st->same_month_set = same != Py_None;
    if (st->same_month_set) {
        Py_ssize_t len;
        const char *text = PyUnicode_Check(same) ? PyUnicode_AsUTF8AndSize(same, &len) : NULL;
        if (!text) {
            PyErr_Clear();
            ok = 0;
        } else if (len != 2 || (unsigned char)text[0] >= 0x80 || (unsigned char)text[1] >= 0x80) {
            ok = 0;
        } else {
            st->same_month[0] = (unsigned char)text[0];
            st->same_month[1] = (unsigned char)text[1];
        }
    }
    Py_DECREF(same);
    return ok;
}

static int state_store(State *st, PyObject *parse) {
    double iteration, lr;
    if (num_x(&st->iteration, &iteration) < 0 || num_x(&st->lr, &lr) < 0 ||
        set_double(parse, s_iteration, iteration) < 0 || set_double(parse, s_lr, lr) < 0 ||
        set_long(parse, s_last_month, st->last_month) < 0)
        return -1;
    PyObject *same = st->same_month_set
                         ? PyUnicode_FromStringAndSize((const char *)st->same_month, 2)
                         : Py_NewRef(Py_None);
    if (!same)
        return -1;
    int r = PyObject_SetAttr(parse, s_same_month, same);
    Py_DECREF(same);
    return r;
}

/* Characters in n bytes of UTF-8: the bytes that are not continuation bytes (10xxxxxx). */
static Py_ssize_t utf8_length(const char *s, Py_ssize_t n) {
    Py_ssize_t count = 0, k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, s + k, 8);
        uint64_t continuation = (w & 0x8080808080808080ULL) & ~((w << 1) & 0x8080808080808080ULL);
        count += 8 - __builtin_popcountll(continuation);
    }
    for (; k < n; k++)
        count += ((unsigned char)s[k] & 0xC0) != 0x80;
    return count;
}

static PyObject *text_of(Buf *b) {
    return PyUnicode_DecodeASCII(b->data ? b->data : "", b->used, NULL);
}

PyDoc_STRVAR(scan_doc,
"scan(parse, train, test, text, at, delimiter) -> (bytes, chars, train_text, train_rows, test_text, test_rows)\n\n"
"Take the lines of ``text`` (a piece of whole lines: str, or bytes that read as that text) from\n"
"byte ``at`` of its UTF-8 form as\n"
"ParseLog._lines would, up to the first line it is not sure of, with the state on ``parse`` (a\n"
"ParseLog) and the two TableStates, and leave the state there. Returns the bytes and characters\n"
"taken (characters -1: all the rest) and, per table, the CSV text (csv.excel with ``delimiter``)\n"
"of the rows it finished.");

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *parse, *train_state, *test_state, *text;
    Py_ssize_t at;
    int delimiter;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOnC:scan", &parse, &train_state, &test_state, &text, &at, &delimiter))
        return NULL;
    if (delimiter >= 0x80 || delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
        PyErr_SetString(PyExc_ValueError, "scan: an ASCII delimiter that needs no quoting");
        return NULL;
    }
    Py_ssize_t size;
    const char *data;
    int ascii;
    if (PyBytes_Check(text)) { /* a piece's bytes, where they say what its text says (ParseLog.file_pieces) */
        data = PyBytes_AS_STRING(text);
        size = PyBytes_GET_SIZE(text);
        ascii = 1; /* (characters are not counted: Python goes by bytes) */
    } else if (PyUnicode_Check(text)) {
        data = PyUnicode_AsUTF8AndSize(text, &size);
        if (!data)
            return NULL; /* UnicodeEncodeError: Python reads the piece */
        ascii = PyUnicode_IS_ASCII(text);
    } else {
        PyErr_SetString(PyExc_TypeError, "scan: text is str or bytes");
        return NULL;
    }
    if (at < 0 || at > size) {
        PyErr_SetString(PyExc_ValueError, "scan: at is outside the text");
        return NULL;
    }
    State st;
    Table train, test;
    memset(&train, 0, sizeof(train));
    memset(&test, 0, sizeof(test));
    PyObject *result = NULL;
    Py_ssize_t pos = at, chars = 0;
    int ok = state_load(&st, parse);
    if (ok < 0)
        goto done;
    if (ok) {
        ok = table_load(&train, train_state);
        if (ok < 0)
            goto done;
    }
    if (ok) {
        ok = table_load(&test, test_state);
        if (ok < 0)
            goto done;
    }
    if (ok) {
        const char *end = data + size;
        while (pos < size) {
            const char *p = data + pos;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            int r = take_line(&st, &train, &test, p, stop, (char)delimiter);
            if (r < 0)
                goto done;
            if (r != YES)
                break;
            pos = nl ? (nl + 1 - data) : size;
        }
        chars = pos == size ? -1 : ascii ? pos - at : utf8_length(data + at, pos - at);
        if (state_store(&st, parse) < 0 || table_store(&train, train_state) < 0 ||
            table_store(&test, test_state) < 0)
            goto done;
    }
    {
        PyObject *train_text = text_of(&train.out), *test_text = text_of(&test.out);
        if (train_text && test_text)
            result = Py_BuildValue("nnOnOn", pos - at, chars, train_text, ok ? train.emitted : 0, test_text,
                                   ok ? test.emitted : 0);
        Py_XDECREF(train_text);
        Py_XDECREF(test_text);
    }
done:
    table_free(&train);
    table_free(&test);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_parselog",
    "The compiled half of caffemem's parse_log.py drop-in (see caffemem/logs/parselog.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__parselog(void) {
    struct { PyObject **slot; const char *name; } names[] = {
        {&s_iteration, "iteration"}, {&s_lr, "lr"}, {&s_last_month, "last_month"},
        {&s_same_month, "same_month"}, {&s_year, "year"}, {&s_start_ordinal, "start_ordinal"},
        {&s_start_micros, "start_micros"}, {&s_open, "open"}, {&s_columns, "columns"},
        {&s_width, "width"}, {&s_finished, "finished"},
    };
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        *names[k].slot = PyUnicode_InternFromString(names[k].name);
        if (!*names[k].slot)
            return NULL;
    }
    return PyModule_Create(&module);
}

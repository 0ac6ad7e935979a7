/* A network in C speaking digitnet check's JSON-lines protocol (docs/check-protocol.md), written
 * for digitnet's tests. Built plain it is correct; -DMISTAKE_SIGN steps up the gradient,
 * -DMISTAKE_NO_SIGMA_PRIME drops sigma'(z) from the output error; -DHANG, -DCRASH, -DNONSENSE
 * and -DWRONG_SHAPE misbehave on purpose, -DCRASH_DEEP crashes on networks of three layers or
 * more. The reader relies on the protocol's field order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LAYERS 16

static const char *after(const char *line, const char *key) {
    const char *p = strstr(line, key);
    if (!p) { fprintf(stderr, "no %s in the case\n", key); exit(3); }
    return p + strlen(key);
}

/* Reads the next n numbers from *p, skipping brackets, commas and spaces. */
static void numbers(const char **p, double *out, int n) {
    for (int i = 0; i < n; i++) {
        while (**p && !strchr("-0123456789", **p)) (*p)++;
        char *end;
        out[i] = strtod(*p, &end);
        *p = end;
    }
}

/* The rows of the list of lists starting at p. */
static int rows(const char *p) {
    int depth = 0, count = 0;
    for (; *p; p++) {
        if (*p == '[' && ++depth == 2) count++;
        if (*p == ']' && --depth == 0) break;
    }
    return count;
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

static int L, sizes[MAX_LAYERS + 1], cross_entropy;
static double *w[MAX_LAYERS], *b[MAX_LAYERS];

/* Forward pass: a[l] holds layer l's activations (a[0] = x), z[l] layer l+1's weighted input. */
static void forward(const double *x, double **a, double **z) {
    memcpy(a[0], x, sizes[0] * sizeof(double));
    for (int l = 0; l < L; l++)
        for (int j = 0; j < sizes[l + 1]; j++) {
            double s = b[l][j];
            for (int k = 0; k < sizes[l]; k++) s += w[l][j * sizes[l] + k] * a[l][k];
            z[l][j] = s;
            a[l + 1][j] = sigmoid(s);
        }
}

/* Adds the gradient of one sample to gb, gw. */
static void backprop(const double *x, const double *y, double **gb, double **gw) {
    double *a[MAX_LAYERS + 1], *z[MAX_LAYERS], *delta[MAX_LAYERS];
    for (int l = 0; l <= L; l++) a[l] = calloc(sizes[l], sizeof(double));
    for (int l = 0; l < L; l++) {
        z[l] = calloc(sizes[l + 1], sizeof(double));
        delta[l] = calloc(sizes[l + 1], sizeof(double));
    }
    forward(x, a, z);
    for (int j = 0; j < sizes[L]; j++) {
        double d = a[L][j] - y[j], s = a[L][j] * (1 - a[L][j]);
#ifndef MISTAKE_NO_SIGMA_PRIME
        if (!cross_entropy) d *= s;
#endif
        delta[L - 1][j] = d;
    }
    for (int l = L - 1; l > 0; l--)
        for (int k = 0; k < sizes[l]; k++) {
            double s = 0;
            for (int j = 0; j < sizes[l + 1]; j++) s += w[l][j * sizes[l] + k] * delta[l][j];
            delta[l - 1][k] = s * a[l][k] * (1 - a[l][k]);
        }
    for (int l = 0; l < L; l++)
        for (int j = 0; j < sizes[l + 1]; j++) {
            gb[l][j] += delta[l][j];
            for (int k = 0; k < sizes[l]; k++) gw[l][j * sizes[l] + k] += delta[l][j] * a[l][k];
        }
    for (int l = 0; l <= L; l++) free(a[l]);
    for (int l = 0; l < L; l++) { free(z[l]); free(delta[l]); }
}

static void print_vector(const double *v, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) printf("%s%.17g", i ? "," : "", v[i]);
    putchar(']');
}

static void print_matrix(const double *m, int r, int c) {
    putchar('[');
    for (int i = 0; i < r; i++) { if (i) putchar(','); print_vector(m + i * c, c); }
    putchar(']');
}

static void print_layers(const char *name, double **v, int matrices) {
    printf("\"%s\":[", name);
    for (int l = 0; l < L; l++) {
        if (l) putchar(',');
        if (matrices) print_matrix(v[l], sizes[l + 1], sizes[l]);
        else print_vector(v[l], sizes[l + 1]);
    }
    putchar(']');
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
#ifdef HANG
        for (;;) pause();
#endif
#ifdef CRASH
        *(volatile int *)0 = 1;
#endif
#ifdef NONSENSE
        puts("hello, digitnet");
        fflush(stdout);
        continue;
#endif
        const char *p = after(line, "\"sizes\":");
        L = -1;
        while (*p != ']') { p++; sizes[++L] = (int)strtol(p, (char **)&p, 10); }
#ifdef CRASH_DEEP
        if (L >= 2) abort();
#endif
        cross_entropy = strstr(line, "\"cost\":\"CrossEntropyCost\"") != NULL;
        double eta = strtod(after(line, "\"eta\":"), NULL);
        double lmbda = strtod(after(line, "\"lmbda\":"), NULL);
        double n = strtod(after(line, "\"n\":"), NULL);
        p = after(line, "\"weights\":");
        for (int l = 0; l < L; l++) {
            w[l] = calloc(sizes[l] * sizes[l + 1], sizeof(double));
            numbers(&p, w[l], sizes[l] * sizes[l + 1]);
        }
        p = after(line, "\"biases\":");
        for (int l = 0; l < L; l++) {
            b[l] = calloc(sizes[l + 1], sizeof(double));
            numbers(&p, b[l], sizes[l + 1]);
        }
        p = after(line, "\"x\":");
        int m = rows(p);
        double *x = calloc(m * sizes[0], sizeof(double)), *y = calloc(m * sizes[L], sizeof(double));
        numbers(&p, x, m * sizes[0]);
        p = after(line, "\"y\":");
        numbers(&p, y, m * sizes[L]);
        double *gb[MAX_LAYERS], *gw[MAX_LAYERS];
        for (int l = 0; l < L; l++) {
            gb[l] = calloc(sizes[l + 1], sizeof(double));
            gw[l] = calloc(sizes[l] * sizes[l + 1], sizeof(double));
        }
        if (strstr(line, "\"method\":\"feedforward\"")) {
            double *a[MAX_LAYERS + 1], *z[MAX_LAYERS];
            for (int l = 0; l <= L; l++) a[l] = calloc(sizes[l] + 1, sizeof(double));
            for (int l = 0; l < L; l++) z[l] = calloc(sizes[l + 1], sizeof(double));
            printf("{\"output\":[");
            for (int i = 0; i < m; i++) {
                forward(x + i * sizes[0], a, z);
                if (i) putchar(',');
#ifdef WRONG_SHAPE
                print_vector(a[L], sizes[L] + 1);
#else
                print_vector(a[L], sizes[L]);
#endif
            }
            printf("]}\n");
            for (int l = 0; l <= L; l++) free(a[l]);
            for (int l = 0; l < L; l++) free(z[l]);
        } else if (strstr(line, "\"method\":\"backprop\"")) {
            backprop(x, y, gb, gw);
            putchar('{');
            print_layers("nabla_b", gb, 0);
            putchar(',');
            print_layers("nabla_w", gw, 1);
            printf("}\n");
        } else if (strstr(line, "\"method\":\"update_mini_batch\"")) {
            for (int i = 0; i < m; i++) backprop(x + i * sizes[0], y + i * sizes[L], gb, gw);
#ifdef MISTAKE_SIGN
            double step = -eta / m;
#else
            double step = eta / m;
#endif
            for (int l = 0; l < L; l++) {
                for (int j = 0; j < sizes[l] * sizes[l + 1]; j++)
                    w[l][j] = (1 - eta * lmbda / n) * w[l][j] - step * gw[l][j];
                for (int j = 0; j < sizes[l + 1]; j++) b[l][j] -= step * gb[l][j];
            }
            putchar('{');
            print_layers("weights", w, 1);
            putchar(',');
            print_layers("biases", b, 0);
            printf("}\n");
        } else {
            printf("{\"error\":\"this program does not implement that method\"}\n");
        }
        fflush(stdout);
        for (int l = 0; l < L; l++) { free(w[l]); free(b[l]); free(gb[l]); free(gw[l]); }
        free(x);
        free(y);
    }
    free(line);
    return 0;
}

/*
 * Stand-in libnvidia-ml.so.1 for envcheck's integration tests.
 *
 * The real NVML binding (nvidia-ml-py, import name `pynvml`) dlopens
 * "libnvidia-ml.so.1"; putting the folder holding this library first on
 * LD_LIBRARY_PATH makes it answer from a scenario file instead of a driver, so
 * the NVML adapter is exercised through the real binding on a machine without
 * a GPU. Symbol names, signatures and struct layouts follow nvml.h as
 * resolved by nvidia-ml-py 13.615.71.
 *
 * Build: gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o libnvidia-ml.so.1 libnvml.c
 *
 * ---------------------------------------------------------------------------
 * Scenario file format
 * ---------------------------------------------------------------------------
 * The path comes from the environment variable ENVCHECK_NVML_SCENARIO. When it
 * is unset or empty, nvmlInit* returns NVML_ERROR_DRIVER_NOT_LOADED (9), as on
 * a host without the NVIDIA kernel module.
 *
 * One `key value` per line. The key ends at the first space or tab; the value
 * is the rest of the line after that run of blanks, with trailing blanks
 * removed (so GPU names keep their spaces). `#` at the start of a line, or
 * after a blank, starts a comment. Blank lines are ignored, and so are unknown
 * keys (also unknown `gpuN.*` keys). Lines are at most 1023 characters, the
 * file at most 256 KiB.
 *
 *   init_error NAME|CODE        nvmlInit, nvmlInit_v2, nvmlInitWithFlags return
 *                               this code; NAME as in nvml.h, e.g.
 *                               NVML_ERROR_DRIVER_NOT_LOADED (9),
 *                               NVML_ERROR_LIB_RM_VERSION_MISMATCH (18),
 *                               NVML_ERROR_NO_PERMISSION (4),
 *                               NVML_ERROR_LIBRARY_NOT_FOUND (12),
 *                               NVML_ERROR_UNKNOWN (999). With init_error set,
 *                               no other key is required.
 *   driver_version 550.54.15    required
 *   cuda_driver_version 12040   required; integer as NVML returns it
 *                               (1000 * major + 10 * minor)
 *   nvml_version 12.550.54.15   optional; default is
 *                               "<cuda major>.<driver_version>"
 *   device_count 1              0..16; default is highest gpu index + 1
 *
 *   Per GPU, N in 0..15 and N < device_count; name and uuid are required for
 *   every GPU below device_count. Any other field left out makes its NVML
 *   call return NVML_ERROR_NOT_SUPPORTED (3), as NVML does for consumer cards
 *   without MIG or ECC.
 *   gpuN.name NVIDIA GeForce RTX 4090
 *   gpuN.uuid GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
 *   gpuN.compute_capability 8.9
 *   gpuN.memory_total_mib 24564           bytes = MiB * 1048576
 *   gpuN.memory_used_mib 1024             LIST; default 0 when total is given
 *   gpuN.memory_reserved_mib 0            optional, default 0: nvmlMemory_v2_t
 *                                         reports it apart, nvmlMemory_t counts
 *                                         it as used (as the driver does);
 *                                         free = total - reserved - used
 *   gpuN.temperature_c 41                 LIST
 *   gpuN.power_w 35.5                     LIST; watts, up to 3 decimals,
 *                                         returned in milliwatts
 *   gpuN.power_limit_w 450                nvmlDeviceGetPowerManagementLimit and,
 *                                         unless overridden, ...EnforcedPowerLimit
 *   gpuN.enforced_power_limit_w 450       optional override of the above
 *   gpuN.throttle_reasons 0x0             LIST; clocks event reasons bitmask
 *                                         (hex with 0x, or decimal), answered by
 *                                         ...CurrentClocksEventReasons and
 *                                         ...CurrentClocksThrottleReasons
 *   gpuN.utilization_gpu 3                LIST; percent
 *   gpuN.utilization_memory 1             LIST; percent, default 0 when
 *                                         utilization_gpu is given
 *   gpuN.mig_mode 1                       current mode, pending the same; or
 *                                         "current pending", e.g. "0 1"
 *   gpuN.ecc_uncorrected 0                total uncorrected ECC errors
 *   gpuN.ecc_corrected 0                  total corrected ECC errors (both
 *                                         volatile and aggregate counters)
 *   gpuN.process PID USED_MIB NAME        repeatable, up to 32 per GPU; a
 *                                         compute process. NAME is last and may
 *                                         contain spaces ("/usr/bin/python3 -u").
 *                                         "PID NAME USED_MIB" (NAME without
 *                                         spaces) is accepted too; when the
 *                                         second word is a number it is USED_MIB.
 *
 *   missing FUNCTION            repeatable, up to 64: that exported function
 *                               returns NVML_ERROR_FUNCTION_NOT_FOUND (13), as
 *                               when an older driver lacks the symbol, e.g.
 *                               `missing nvmlDeviceGetCurrentClocksEventReasons`
 *   unsupported gpuN.FIELD      repeatable: calls reading FIELD on GPU N return
 *                               NVML_ERROR_NOT_SUPPORTED (3). FIELD is one of
 *                               name uuid compute_capability memory temperature
 *                               power (usage) power_limit (both limits)
 *                               throttle_reasons utilization mig_mode ecc
 *                               processes (compute and graphics)
 *
 * LIST values are comma separated ("60,70,80"). Each successful call reading
 * that field returns the current entry and moves to the next one, then stays
 * on the last entry; functions reading the same field share the position
 * (MemoryInfo and MemoryInfo_v2; ClocksEventReasons and ClocksThrottleReasons;
 * utilization_gpu and utilization_memory advance together). Positions survive
 * nvmlShutdown/nvmlInit: nvmlInit* rereads the file and parses it again only
 * when its path or its text changed. A LIST holds up to 64 entries.
 *
 * ENVCHECK_NVML_CALL_LOG, when set to a file path, gets one line per call with
 * the function's name (nvmlInit_v2, nvmlDeviceGetName, ...), appended as the
 * call is made: tests count inits and static reads per watch with it.
 *
 * A malformed file (bad number, unknown init_error name, gpu index out of
 * range, unknown `unsupported` field, missing required key ...) makes nvmlInit*
 * return NVML_ERROR_UNKNOWN (999) and print one line on stderr naming the file,
 * the line and the problem. An unreadable file is reported the same way.
 *
 * Every call other than nvmlErrorString returns NVML_ERROR_UNINITIALIZED (1)
 * before nvmlInit* succeeds or after the matching nvmlShutdown, and
 * NVML_ERROR_INVALID_ARGUMENT (2) for a NULL output pointer, an index at or
 * past device_count, a handle that is not one of ours, or a temperature
 * sensor other than NVML_TEMPERATURE_GPU (0). Strings that do not fit the
 * caller's buffer give NVML_ERROR_INSUFFICIENT_SIZE (7).
 */

#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ nvml.h */

typedef int nvmlReturn_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_FUNCTION_NOT_FOUND 13
#define NVML_ERROR_ARGUMENT_VERSION_MISMATCH 25
#define NVML_ERROR_UNKNOWN 999

#define NVML_TEMPERATURE_GPU 0
#define NVML_MEMORY_ERROR_TYPE_CORRECTED 0
#define NVML_MEMORY_ERROR_TYPE_UNCORRECTED 1
#define NVML_VOLATILE_ECC 0
#define NVML_AGGREGATE_ECC 1

/* Reported for gpuInstanceId/computeInstanceId outside MIG, as the driver does. */
#define NVML_VALUE_NOT_AVAILABLE_UINT 0xFFFFFFFFu

#define MIB 1048576ULL

typedef struct standin_gpu *nvmlDevice_t;

typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

/* sizeof | (2 << 24), the NVML_STRUCT_VERSION convention. */
#define nvmlMemory_v2 ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

typedef struct {
    unsigned int version;
    int sensorType;
    int temperature;
} nvmlTemperature_v1_t;

#define nvmlTemperature_v1 ((unsigned int)(sizeof(nvmlTemperature_v1_t) | (1u << 24)))

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

/* Used by the unversioned nvmlDevice*RunningProcesses symbols. */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

/* Used by the _v2 and _v3 symbols (pynvml: c_nvmlProcessInfo_v3_t = v2). */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t;

/* --------------------------------------------------------------- scenario */

#define MAX_GPUS 16
#define MAX_PROCESSES 32
#define MAX_SERIES 64
#define MAX_MISSING 64
#define MAX_LINE 1024
#define MAX_FILE (256 * 1024)
#define TEXT_LEN 96
#define PROCESS_NAME_LEN 256
#define FUNCTION_NAME_LEN 128

enum field {
    F_NAME,
    F_UUID,
    F_COMPUTE_CAPABILITY,
    F_MEMORY,
    F_TEMPERATURE,
    F_POWER,
    F_POWER_LIMIT,
    F_THROTTLE_REASONS,
    F_UTILIZATION,
    F_MIG_MODE,
    F_ECC,
    F_PROCESSES,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "name", "uuid", "compute_capability", "memory", "temperature", "power",
    "power_limit", "throttle_reasons", "utilization", "mig_mode", "ecc",
    "processes",
};

/* count == 0 means the scenario did not give the field. */
struct series {
    unsigned long long values[MAX_SERIES];
    unsigned count;
    unsigned cursor;
};

struct process {
    unsigned pid;
    unsigned long long used_mib;
    char name[PROCESS_NAME_LEN];
};

struct standin_gpu {
    unsigned index;
    int mentioned;
    char name[TEXT_LEN];
    char uuid[TEXT_LEN];
    int has_compute_capability;
    int cc_major;
    int cc_minor;
    int has_memory_total;
    unsigned long long memory_total_mib;
    unsigned long long memory_reserved_mib;
    struct series memory_used_mib;
    struct series temperature_c;
    struct series power_mw;
    struct series throttle_reasons;
    struct series utilization_gpu;
    struct series utilization_memory;
    int has_power_limit;
    unsigned long long power_limit_mw;
    int has_enforced_power_limit;
    unsigned long long enforced_power_limit_mw;
    int has_mig_mode;
    unsigned mig_current;
    unsigned mig_pending;
    int has_ecc_uncorrected;
    unsigned long long ecc_uncorrected;
    int has_ecc_corrected;
    unsigned long long ecc_corrected;
    unsigned process_count;
    struct process processes[MAX_PROCESSES];
    int unsupported[F_COUNT];
};

struct scenario {
    int loaded;
    char path[4096];
    nvmlReturn_t init_error;
    int has_driver_version;
    char driver_version[64]; /* leaves room for "<cuda major>." in nvml_version */
    int has_nvml_version;
    char nvml_version[80];
    int has_cuda_driver_version;
    int cuda_driver_version;
    int has_device_count;
    unsigned device_count;
    struct standin_gpu gpus[MAX_GPUS];
    unsigned missing_count;
    char missing[MAX_MISSING][FUNCTION_NAME_LEN];
};

static struct scenario g_scenario;
static struct scenario g_parsing; /* parsed into first, so a bad file leaves no half state */
static unsigned g_refcount;
static char g_read_text[MAX_FILE + 1];
static char g_loaded_text[MAX_FILE + 1]; /* the text g_scenario was parsed from */
static size_t g_loaded_length;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* ----------------------------------------------------------- error names */

struct error_name {
    nvmlReturn_t code;
    const char *name;
    const char *text;
};

/* Texts as nvmlErrorString / pynvml word them. */
static const struct error_name error_names[] = {
    {0, "NVML_SUCCESS", "Success"},
    {1, "NVML_ERROR_UNINITIALIZED", "Uninitialized"},
    {2, "NVML_ERROR_INVALID_ARGUMENT", "Invalid Argument"},
    {3, "NVML_ERROR_NOT_SUPPORTED", "Not Supported"},
    {4, "NVML_ERROR_NO_PERMISSION", "Insufficient Permissions"},
    {5, "NVML_ERROR_ALREADY_INITIALIZED", "Already Initialized"},
    {6, "NVML_ERROR_NOT_FOUND", "Not Found"},
    {7, "NVML_ERROR_INSUFFICIENT_SIZE", "Insufficient Size"},
    {8, "NVML_ERROR_INSUFFICIENT_POWER", "Insufficient External Power"},
    {9, "NVML_ERROR_DRIVER_NOT_LOADED", "Driver Not Loaded"},
    {10, "NVML_ERROR_TIMEOUT", "Timeout"},
    {11, "NVML_ERROR_IRQ_ISSUE", "Interrupt Request Issue"},
    {12, "NVML_ERROR_LIBRARY_NOT_FOUND", "NVML Shared Library Not Found"},
    {13, "NVML_ERROR_FUNCTION_NOT_FOUND", "Function Not Found"},
    {14, "NVML_ERROR_CORRUPTED_INFOROM", "Corrupted infoROM"},
    {15, "NVML_ERROR_GPU_IS_LOST", "GPU is lost"},
    {16, "NVML_ERROR_RESET_REQUIRED", "GPU requires restart"},
    {17, "NVML_ERROR_OPERATING_SYSTEM", "The operating system has blocked the request."},
    {18, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", "RM has detected an NVML/RM version mismatch."},
    {19, "NVML_ERROR_IN_USE", "In use by another client"},
    {20, "NVML_ERROR_MEMORY", "Insufficient Memory"},
    {21, "NVML_ERROR_NO_DATA", "No data"},
    {22, "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED", "ECC is not supported on this vGPU"},
    {23, "NVML_ERROR_INSUFFICIENT_RESOURCES", "Insufficient resources"},
    {24, "NVML_ERROR_FREQ_NOT_SUPPORTED", "Frequency not supported"},
    {25, "NVML_ERROR_ARGUMENT_VERSION_MISMATCH", "Argument version mismatch"},
    {26, "NVML_ERROR_DEPRECATED", "Deprecated"},
    {27, "NVML_ERROR_NOT_READY", "Not ready"},
    {28, "NVML_ERROR_GPU_NOT_FOUND", "GPU not found"},
    {29, "NVML_ERROR_INVALID_STATE", "Invalid state"},
    {30, "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED", "Reset type not supported"},
    {999, "NVML_ERROR_UNKNOWN", "Unknown Error"},
};

#define ERROR_NAME_COUNT (sizeof(error_names) / sizeof(error_names[0]))

/* ---------------------------------------------------------------- parsing */

struct parse_context {
    const char *path;
    unsigned line;
};

static int report(const struct parse_context *ctx, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Always returns -1 so callers can `return report(...)`. */
static int report(const struct parse_context *ctx, const char *format, ...)
{
    va_list args;
    fprintf(stderr, "libnvidia-ml.so.1 (envcheck stand-in): %s", ctx->path);
    if (ctx->line > 0)
        fprintf(stderr, ":%u", ctx->line);
    fputs(": ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    return -1;
}

static char *trim(char *text)
{
    char *end;
    while (*text == ' ' || *text == '\t')
        text++;
    end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return text;
}

/* Decimal, or hexadecimal with 0x; a leading 0 is not octal. */
static int parse_u64(const char *text, unsigned long long *out)
{
    char *end;
    int base = 10;
    if (text[0] == '\0' || text[0] == '-' || text[0] == '+' || isspace((unsigned char)text[0]))
        return -1;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        base = 16;
    errno = 0;
    *out = strtoull(text, &end, base);
    if (errno != 0 || end == text || *end != '\0')
        return -1;
    return 0;
}

static int parse_uint(const char *text, unsigned long long max, unsigned long long *out)
{
    if (parse_u64(text, out) != 0 || *out > max)
        return -1;
    return 0;
}

/* "35.5" -> 35500: fixed point, so the result does not depend on the locale. */
static int parse_milli(const char *text, unsigned long long *out)
{
    unsigned long long whole = 0;
    unsigned long long fraction = 0;
    unsigned digits = 0;
    const char *p = text;
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        whole = whole * 10 + (unsigned long long)(*p - '0');
        if (whole > 4000000000ULL)
            return -1;
        p++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits == 3)
                return -1;
            fraction = fraction * 10 + (unsigned long long)(*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return -1;
    }
    if (*p != '\0')
        return -1;
    while (digits < 3) {
        fraction *= 10;
        digits++;
    }
    *out = whole * 1000 + fraction;
    return 0;
}

enum number_kind { NUMBER_INTEGER, NUMBER_MILLI };

static int parse_series(const struct parse_context *ctx, const char *key, char *value,
                        enum number_kind kind, unsigned long long max, struct series *out)
{
    char *item = value;
    out->count = 0;
    out->cursor = 0;
    for (;;) {
        char *comma = strchr(item, ',');
        unsigned long long number;
        int bad;
        if (comma != NULL)
            *comma = '\0';
        item = trim(item);
        if (out->count == MAX_SERIES)
            return report(ctx, "%s has more than %d values", key, MAX_SERIES);
        bad = kind == NUMBER_MILLI ? parse_milli(item, &number) : parse_uint(item, max, &number);
        if (bad != 0 || (kind == NUMBER_MILLI && number > max))
            return report(ctx, "%s: '%s' is not a valid %s", key, item,
                          kind == NUMBER_MILLI ? "decimal number" : "non-negative integer");
        out->values[out->count++] = number;
        if (comma == NULL)
            return 0;
        item = comma + 1;
    }
}

static int copy_text(const struct parse_context *ctx, const char *key, const char *value,
                     char *out, size_t size)
{
    if (strlen(value) >= size)
        return report(ctx, "%s is longer than %zu characters", key, size - 1);
    memcpy(out, value, strlen(value) + 1);
    return 0;
}

static int parse_error_code(const char *text, nvmlReturn_t *out)
{
    unsigned long long number;
    size_t i;
    for (i = 0; i < ERROR_NAME_COUNT; i++) {
        if (strcmp(text, error_names[i].name) == 0) {
            *out = error_names[i].code;
            return 0;
        }
    }
    if (parse_uint(text, 0x7fffffff, &number) == 0) {
        *out = (nvmlReturn_t)number;
        return 0;
    }
    return -1;
}

/* "gpu12.rest" -> index 12 and a pointer to "rest". */
static int parse_gpu_key(const struct parse_context *ctx, const char *key, unsigned *index,
                         const char **rest)
{
    const char *p = key + 3;
    unsigned value = 0;
    if (!isdigit((unsigned char)*p))
        return report(ctx, "'%s' should look like gpuN.field", key);
    while (isdigit((unsigned char)*p)) {
        value = value * 10 + (unsigned)(*p - '0');
        if (value >= MAX_GPUS)
            return report(ctx, "'%s': gpu index must be below %d", key, MAX_GPUS);
        p++;
    }
    if (*p != '.' || p[1] == '\0')
        return report(ctx, "'%s' should look like gpuN.field", key);
    *index = value;
    *rest = p + 1;
    return 0;
}

static int is_number(const char *text)
{
    unsigned long long ignored;
    return parse_u64(text, &ignored) == 0;
}

/* "PID USED_MIB NAME..." or "PID NAME USED_MIB". */
static int parse_process(const struct parse_context *ctx, const char *key, char *value,
                         struct standin_gpu *gpu)
{
    struct process *proc;
    char *pid_text = value;
    char *second;
    char *rest;
    char *used_text;
    char *name;
    unsigned long long number;

    if (gpu->process_count == MAX_PROCESSES)
        return report(ctx, "%s: more than %d processes", key, MAX_PROCESSES);
    proc = &gpu->processes[gpu->process_count];

    second = pid_text + strcspn(pid_text, " \t");
    if (*second == '\0')
        return report(ctx, "%s should be 'PID USED_MIB NAME'", key);
    *second++ = '\0';
    second = trim(second);
    rest = second + strcspn(second, " \t");
    if (*rest == '\0')
        return report(ctx, "%s should be 'PID USED_MIB NAME'", key);
    *rest++ = '\0';
    rest = trim(rest);

    if (is_number(second)) {
        used_text = second;
        name = rest;
    } else if (strpbrk(rest, " \t") == NULL && is_number(rest)) {
        name = second;
        used_text = rest;
    } else {
        return report(ctx, "%s should be 'PID USED_MIB NAME'", key);
    }
    if (parse_uint(pid_text, 0xFFFFFFFFULL, &number) != 0)
        return report(ctx, "%s: pid '%s' is not a non-negative integer", key, pid_text);
    proc->pid = (unsigned)number;
    if (parse_uint(used_text, 1ULL << 40, &proc->used_mib) != 0)
        return report(ctx, "%s: used MiB '%s' is not a non-negative integer", key, used_text);
    if (copy_text(ctx, key, name, proc->name, sizeof(proc->name)) != 0)
        return -1;
    gpu->process_count++;
    return 0;
}

static int parse_mig_mode(const struct parse_context *ctx, const char *key, char *value,
                          struct standin_gpu *gpu)
{
    unsigned long long current;
    unsigned long long pending;
    char *second = value + strcspn(value, " \t");
    if (*second != '\0') {
        *second++ = '\0';
        second = trim(second);
    }
    if (parse_uint(value, 1, &current) != 0)
        return report(ctx, "%s: '%s' should be 0 or 1", key, value);
    pending = current;
    if (*second != '\0' && parse_uint(second, 1, &pending) != 0)
        return report(ctx, "%s: pending mode '%s' should be 0 or 1", key, second);
    gpu->has_mig_mode = 1;
    gpu->mig_current = (unsigned)current;
    gpu->mig_pending = (unsigned)pending;
    return 0;
}

static int parse_compute_capability(const struct parse_context *ctx, const char *key,
                                    char *value, struct standin_gpu *gpu)
{
    unsigned long long major;
    unsigned long long minor;
    char *dot = strchr(value, '.');
    if (dot == NULL)
        return report(ctx, "%s: '%s' should look like 8.9", key, value);
    *dot = '\0';
    if (parse_uint(value, 99, &major) != 0 || parse_uint(dot + 1, 99, &minor) != 0) {
        *dot = '.';
        return report(ctx, "%s: '%s' should look like 8.9", key, value);
    }
    gpu->has_compute_capability = 1;
    gpu->cc_major = (int)major;
    gpu->cc_minor = (int)minor;
    return 0;
}

static int parse_gpu_line(const struct parse_context *ctx, struct scenario *scn, const char *key,
                          char *value)
{
    struct standin_gpu *gpu;
    const char *field;
    unsigned index;

    if (parse_gpu_key(ctx, key, &index, &field) != 0)
        return -1;
    gpu = &scn->gpus[index];
    gpu->mentioned = 1;

    if (strcmp(field, "name") == 0)
        return copy_text(ctx, key, value, gpu->name, sizeof(gpu->name));
    if (strcmp(field, "uuid") == 0)
        return copy_text(ctx, key, value, gpu->uuid, sizeof(gpu->uuid));
    if (strcmp(field, "compute_capability") == 0)
        return parse_compute_capability(ctx, key, value, gpu);
    if (strcmp(field, "memory_total_mib") == 0) {
        gpu->has_memory_total = 1;
        if (parse_uint(value, 1ULL << 40, &gpu->memory_total_mib) != 0)
            return report(ctx, "%s: '%s' is not a non-negative integer", key, value);
        return 0;
    }
    if (strcmp(field, "memory_reserved_mib") == 0) {
        if (parse_uint(value, 1ULL << 40, &gpu->memory_reserved_mib) != 0)
            return report(ctx, "%s: '%s' is not a non-negative integer", key, value);
        return 0;
    }
    if (strcmp(field, "memory_used_mib") == 0)
        return parse_series(ctx, key, value, NUMBER_INTEGER, 1ULL << 40, &gpu->memory_used_mib);
    if (strcmp(field, "temperature_c") == 0)
        return parse_series(ctx, key, value, NUMBER_INTEGER, 1000, &gpu->temperature_c);
    if (strcmp(field, "power_w") == 0)
        return parse_series(ctx, key, value, NUMBER_MILLI, 0xFFFFFFFFULL, &gpu->power_mw);
    if (strcmp(field, "power_limit_w") == 0) {
        gpu->has_power_limit = 1;
        if (parse_milli(value, &gpu->power_limit_mw) != 0 || gpu->power_limit_mw > 0xFFFFFFFFULL)
            return report(ctx, "%s: '%s' is not a valid decimal number", key, value);
        return 0;
    }
    if (strcmp(field, "enforced_power_limit_w") == 0) {
        gpu->has_enforced_power_limit = 1;
        if (parse_milli(value, &gpu->enforced_power_limit_mw) != 0 ||
            gpu->enforced_power_limit_mw > 0xFFFFFFFFULL)
            return report(ctx, "%s: '%s' is not a valid decimal number", key, value);
        return 0;
    }
    if (strcmp(field, "throttle_reasons") == 0)
        return parse_series(ctx, key, value, NUMBER_INTEGER, ~0ULL, &gpu->throttle_reasons);
    if (strcmp(field, "utilization_gpu") == 0)
        return parse_series(ctx, key, value, NUMBER_INTEGER, 100, &gpu->utilization_gpu);
    if (strcmp(field, "utilization_memory") == 0)
        return parse_series(ctx, key, value, NUMBER_INTEGER, 100, &gpu->utilization_memory);
    if (strcmp(field, "mig_mode") == 0)
        return parse_mig_mode(ctx, key, value, gpu);
    if (strcmp(field, "ecc_uncorrected") == 0) {
        gpu->has_ecc_uncorrected = 1;
        if (parse_u64(value, &gpu->ecc_uncorrected) != 0)
            return report(ctx, "%s: '%s' is not a non-negative integer", key, value);
        return 0;
    }
    if (strcmp(field, "ecc_corrected") == 0) {
        gpu->has_ecc_corrected = 1;
        if (parse_u64(value, &gpu->ecc_corrected) != 0)
            return report(ctx, "%s: '%s' is not a non-negative integer", key, value);
        return 0;
    }
    if (strcmp(field, "process") == 0)
        return parse_process(ctx, key, value, gpu);
    return 0; /* unknown gpu field: ignored on purpose, newer files stay loadable */
}

static int parse_unsupported(const struct parse_context *ctx, struct scenario *scn, char *value)
{
    const char *field;
    unsigned index;
    int i;
    if (strncmp(value, "gpu", 3) != 0 || parse_gpu_key(ctx, value, &index, &field) != 0)
        return report(ctx, "unsupported: '%s' should look like gpu0.power", value);
    for (i = 0; i < F_COUNT; i++) {
        if (strcmp(field, field_names[i]) == 0) {
            scn->gpus[index].unsupported[i] = 1;
            return 0;
        }
    }
    return report(ctx, "unsupported: unknown field '%s' (known: name uuid compute_capability "
                       "memory temperature power power_limit throttle_reasons utilization "
                       "mig_mode ecc processes)", field);
}

static int parse_line(const struct parse_context *ctx, struct scenario *scn, char *line)
{
    char *key;
    char *value;
    char *p;
    unsigned long long number;

    /* '#' opens a comment at the start or after a blank, so "GPU-#1" style values survive. */
    for (p = line; *p != '\0'; p++) {
        if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    key = trim(line);
    if (*key == '\0')
        return 0;
    value = key + strcspn(key, " \t");
    if (*value == '\0')
        return report(ctx, "'%s' has no value", key);
    *value++ = '\0';
    value = trim(value);

    if (strcmp(key, "init_error") == 0) {
        if (parse_error_code(value, &scn->init_error) != 0)
            return report(ctx, "init_error: unknown code '%s' (use a name from nvml.h such as "
                               "NVML_ERROR_DRIVER_NOT_LOADED, or a number)", value);
        return 0;
    }
    if (strcmp(key, "driver_version") == 0) {
        scn->has_driver_version = 1;
        return copy_text(ctx, key, value, scn->driver_version, sizeof(scn->driver_version));
    }
    if (strcmp(key, "nvml_version") == 0) {
        scn->has_nvml_version = 1;
        return copy_text(ctx, key, value, scn->nvml_version, sizeof(scn->nvml_version));
    }
    if (strcmp(key, "cuda_driver_version") == 0) {
        if (parse_uint(value, 0x7fffffff, &number) != 0)
            return report(ctx, "cuda_driver_version: '%s' should be an integer like 12040", value);
        scn->has_cuda_driver_version = 1;
        scn->cuda_driver_version = (int)number;
        return 0;
    }
    if (strcmp(key, "device_count") == 0) {
        if (parse_uint(value, MAX_GPUS, &number) != 0)
            return report(ctx, "device_count: '%s' should be an integer from 0 to %d", value,
                          MAX_GPUS);
        scn->has_device_count = 1;
        scn->device_count = (unsigned)number;
        return 0;
    }
    if (strcmp(key, "missing") == 0) {
        if (scn->missing_count == MAX_MISSING)
            return report(ctx, "more than %d 'missing' lines", MAX_MISSING);
        return copy_text(ctx, key, value, scn->missing[scn->missing_count++], FUNCTION_NAME_LEN);
    }
    if (strcmp(key, "unsupported") == 0)
        return parse_unsupported(ctx, scn, value);
    if (strncmp(key, "gpu", 3) == 0 && isdigit((unsigned char)key[3]))
        return parse_gpu_line(ctx, scn, key, value);
    return 0; /* unknown key: ignored on purpose */
}

static int validate(const struct parse_context *ctx, struct scenario *scn)
{
    unsigned i;
    unsigned highest = 0;
    int any = 0;

    for (i = 0; i < MAX_GPUS; i++) {
        scn->gpus[i].index = i;
        if (scn->gpus[i].mentioned) {
            highest = i;
            any = 1;
        }
    }
    if (!scn->has_device_count)
        scn->device_count = any ? highest + 1 : 0;
    if (scn->init_error != NVML_SUCCESS)
        return 0;
    if (!scn->has_driver_version)
        return report(ctx, "driver_version is required unless init_error is set");
    if (!scn->has_cuda_driver_version)
        return report(ctx, "cuda_driver_version is required unless init_error is set");
    if (any && highest >= scn->device_count)
        return report(ctx, "gpu%u is configured but device_count is %u", highest,
                      scn->device_count);
    for (i = 0; i < scn->device_count; i++) {
        if (scn->gpus[i].name[0] == '\0')
            return report(ctx, "gpu%u.name is required (device_count is %u)", i,
                          scn->device_count);
        if (scn->gpus[i].uuid[0] == '\0')
            return report(ctx, "gpu%u.uuid is required (device_count is %u)", i,
                          scn->device_count);
    }
    if (!scn->has_nvml_version)
        snprintf(scn->nvml_version, sizeof(scn->nvml_version), "%d.%s",
                 scn->cuda_driver_version / 1000, scn->driver_version);
    return 0;
}

static int parse_text(const char *path, const char *text, size_t length, struct scenario *scn)
{
    struct parse_context ctx = {path, 0};
    char line[MAX_LINE];
    size_t start = 0;

    memset(scn, 0, sizeof(*scn));
    while (start < length) {
        const char *newline = memchr(text + start, '\n', length - start);
        size_t line_length = newline != NULL ? (size_t)(newline - (text + start)) : length - start;
        ctx.line++;
        if (line_length >= sizeof(line))
            return report(&ctx, "line longer than %d characters", MAX_LINE - 1);
        memcpy(line, text + start, line_length);
        line[line_length] = '\0';
        if (parse_line(&ctx, scn, line) != 0)
            return -1;
        start += line_length + 1;
    }
    ctx.line = 0;
    return validate(&ctx, scn);
}

/*
 * Reads with stdio only: stat() needs glibc 2.33, and the library should also load
 * when mounted into containers with an older glibc (Ubuntu 20.04 based CUDA images).
 */
static int read_file(const char *path, char *text, size_t *length)
{
    struct parse_context ctx = {path, 0};
    FILE *file = fopen(path, "r");
    size_t count;
    int failed;

    if (file == NULL)
        return report(&ctx, "cannot open scenario: %s", strerror(errno));
    count = fread(text, 1, MAX_FILE + 1, file);
    failed = ferror(file);
    fclose(file);
    if (failed)
        return report(&ctx, "cannot read scenario");
    if (count > MAX_FILE)
        return report(&ctx, "scenario larger than %d bytes", MAX_FILE);
    text[count] = '\0';
    *length = count;
    return 0;
}

/* Parses only when the path or the text changed, so series positions survive shutdown/init. */
static nvmlReturn_t load_scenario(void)
{
    const char *path = getenv("ENVCHECK_NVML_SCENARIO");
    size_t length = 0;

    if (path == NULL || path[0] == '\0')
        return NVML_ERROR_DRIVER_NOT_LOADED;
    if (strlen(path) >= sizeof(g_parsing.path)) {
        struct parse_context ctx = {path, 0};
        report(&ctx, "scenario path too long");
        g_scenario.loaded = 0;
        return NVML_ERROR_UNKNOWN;
    }
    if (read_file(path, g_read_text, &length) != 0) {
        g_scenario.loaded = 0;
        return NVML_ERROR_UNKNOWN;
    }
    if (g_scenario.loaded && strcmp(g_scenario.path, path) == 0 && length == g_loaded_length &&
        memcmp(g_read_text, g_loaded_text, length) == 0)
        return NVML_SUCCESS;
    if (parse_text(path, g_read_text, length, &g_parsing) != 0) {
        g_scenario.loaded = 0;
        return NVML_ERROR_UNKNOWN;
    }
    g_parsing.loaded = 1;
    memcpy(g_parsing.path, path, strlen(path) + 1);
    memcpy(&g_scenario, &g_parsing, sizeof(g_scenario));
    memcpy(g_loaded_text, g_read_text, length);
    g_loaded_length = length;
    return NVML_SUCCESS;
}

/* --------------------------------------------------------------- helpers */

static int is_missing(const char *function)
{
    unsigned i;
    if (!g_scenario.loaded)
        return 0;
    for (i = 0; i < g_scenario.missing_count; i++)
        if (strcmp(g_scenario.missing[i], function) == 0)
            return 1;
    return 0;
}

static unsigned long long series_peek(const struct series *s)
{
    return s->values[s->cursor];
}

static void series_advance(struct series *s)
{
    if (s->cursor + 1 < s->count)
        s->cursor++;
}

static unsigned long long series_take(struct series *s)
{
    unsigned long long value = series_peek(s);
    series_advance(s);
    return value;
}

static nvmlReturn_t copy_out(char *out, unsigned int length, const char *text)
{
    size_t size = strlen(text) + 1;
    if (out == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (size > length)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(out, text, size);
    return NVML_SUCCESS;
}

/* Appends the function's name to ENVCHECK_NVML_CALL_LOG, when set. Called locked. */
static void note_call(const char *function)
{
    const char *path = getenv("ENVCHECK_NVML_CALL_LOG");
    FILE *log;
    if (path == NULL || path[0] == '\0')
        return;
    log = fopen(path, "a");
    if (log == NULL)
        return;
    fprintf(log, "%s\n", function);
    fclose(log);
}

/* Every entry point locks, and leaves through leave(). */
static nvmlReturn_t enter_system(const char *function)
{
    pthread_mutex_lock(&g_lock);
    note_call(function);
    if (is_missing(function))
        return NVML_ERROR_FUNCTION_NOT_FOUND;
    if (g_refcount == 0)
        return NVML_ERROR_UNINITIALIZED;
    return NVML_SUCCESS;
}

static struct standin_gpu *lookup_handle(nvmlDevice_t device)
{
    uintptr_t base = (uintptr_t)&g_scenario.gpus[0];
    uintptr_t address = (uintptr_t)device;
    uintptr_t offset;
    if (device == NULL || address < base)
        return NULL;
    offset = address - base;
    if (offset % sizeof(struct standin_gpu) != 0 ||
        offset / sizeof(struct standin_gpu) >= g_scenario.device_count)
        return NULL;
    return &g_scenario.gpus[offset / sizeof(struct standin_gpu)];
}

static nvmlReturn_t enter_device(const char *function, nvmlDevice_t device, enum field field,
                                 struct standin_gpu **gpu)
{
    nvmlReturn_t rc = enter_system(function);
    if (rc != NVML_SUCCESS)
        return rc;
    *gpu = lookup_handle(device);
    if (*gpu == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if ((*gpu)->unsupported[field])
        return NVML_ERROR_NOT_SUPPORTED;
    return NVML_SUCCESS;
}

static nvmlReturn_t leave(nvmlReturn_t rc)
{
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* ------------------------------------------------------------ init/system */

static nvmlReturn_t init_common(const char *function)
{
    nvmlReturn_t rc;
    pthread_mutex_lock(&g_lock);
    note_call(function);
    if (g_refcount == 0) {
        rc = load_scenario();
        if (rc != NVML_SUCCESS)
            return leave(rc);
        if (g_scenario.init_error != NVML_SUCCESS)
            return leave(g_scenario.init_error);
    }
    if (is_missing(function))
        return leave(NVML_ERROR_FUNCTION_NOT_FOUND);
    g_refcount++;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlInit(void)
{
    return init_common("nvmlInit");
}

nvmlReturn_t nvmlInit_v2(void)
{
    return init_common("nvmlInit_v2");
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    (void)flags; /* NVML_INIT_FLAG_NO_GPUS / NO_ATTACH change nothing without hardware */
    return init_common("nvmlInitWithFlags");
}

nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t rc = enter_system("nvmlShutdown");
    if (rc == NVML_SUCCESS)
        g_refcount--;
    return leave(rc);
}

const char *nvmlErrorString(nvmlReturn_t result)
{
    size_t i;
    for (i = 0; i < ERROR_NAME_COUNT; i++)
        if (error_names[i].code == result)
            return error_names[i].text;
    return "Unknown Error";
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    nvmlReturn_t rc = enter_system("nvmlSystemGetDriverVersion");
    if (rc == NVML_SUCCESS)
        rc = copy_out(version, length, g_scenario.driver_version);
    return leave(rc);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    nvmlReturn_t rc = enter_system("nvmlSystemGetNVMLVersion");
    if (rc == NVML_SUCCESS)
        rc = copy_out(version, length, g_scenario.nvml_version);
    return leave(rc);
}

static nvmlReturn_t cuda_driver_version(const char *function, int *version)
{
    nvmlReturn_t rc = enter_system(function);
    if (rc == NVML_SUCCESS && version == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *version = g_scenario.cuda_driver_version;
    return leave(rc);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    return cuda_driver_version("nvmlSystemGetCudaDriverVersion", cudaDriverVersion);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    return cuda_driver_version("nvmlSystemGetCudaDriverVersion_v2", cudaDriverVersion);
}

nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length)
{
    unsigned i;
    unsigned j;
    nvmlReturn_t rc = enter_system("nvmlSystemGetProcessName");
    if (rc != NVML_SUCCESS)
        return leave(rc);
    for (i = 0; i < g_scenario.device_count; i++) {
        const struct standin_gpu *gpu = &g_scenario.gpus[i];
        for (j = 0; j < gpu->process_count; j++)
            if (gpu->processes[j].pid == pid)
                return leave(copy_out(name, length, gpu->processes[j].name));
    }
    return leave(NVML_ERROR_NOT_FOUND);
}

/* ---------------------------------------------------------------- devices */

static nvmlReturn_t device_count(const char *function, unsigned int *count)
{
    nvmlReturn_t rc = enter_system(function);
    if (rc == NVML_SUCCESS && count == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *count = g_scenario.device_count;
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
    return device_count("nvmlDeviceGetCount", deviceCount);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    return device_count("nvmlDeviceGetCount_v2", deviceCount);
}

static nvmlReturn_t handle_by_index(const char *function, unsigned int index,
                                    nvmlDevice_t *device)
{
    nvmlReturn_t rc = enter_system(function);
    if (rc == NVML_SUCCESS && (device == NULL || index >= g_scenario.device_count))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *device = &g_scenario.gpus[index];
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return handle_by_index("nvmlDeviceGetHandleByIndex", index, device);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    return handle_by_index("nvmlDeviceGetHandleByIndex_v2", index, device);
}

nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    unsigned i;
    nvmlReturn_t rc = enter_system("nvmlDeviceGetHandleByUUID");
    if (rc == NVML_SUCCESS && (uuid == NULL || device == NULL))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc != NVML_SUCCESS)
        return leave(rc);
    for (i = 0; i < g_scenario.device_count; i++) {
        if (strcmp(g_scenario.gpus[i].uuid, uuid) == 0) {
            *device = &g_scenario.gpus[i];
            return leave(NVML_SUCCESS);
        }
    }
    return leave(NVML_ERROR_NOT_FOUND);
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_system("nvmlDeviceGetIndex");
    if (rc == NVML_SUCCESS && ((gpu = lookup_handle(device)) == NULL || index == NULL))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *index = gpu->index;
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetName", device, F_NAME, &gpu);
    if (rc == NVML_SUCCESS)
        rc = copy_out(name, length, gpu->name);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetUUID", device, F_UUID, &gpu);
    if (rc == NVML_SUCCESS)
        rc = copy_out(uuid, length, gpu->uuid);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetCudaComputeCapability", device,
                                   F_COMPUTE_CAPABILITY, &gpu);
    if (rc == NVML_SUCCESS && (major == NULL || minor == NULL))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && !gpu->has_compute_capability)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        *major = gpu->cc_major;
        *minor = gpu->cc_minor;
    }
    return leave(rc);
}

/* Splits memory as the driver does; advances the used-memory series. */
static void take_memory(struct standin_gpu *gpu, unsigned long long *total,
                        unsigned long long *reserved, unsigned long long *used,
                        unsigned long long *free_bytes)
{
    unsigned long long used_mib = gpu->memory_used_mib.count > 0
                                      ? series_take(&gpu->memory_used_mib)
                                      : 0;
    unsigned long long taken = used_mib + gpu->memory_reserved_mib;
    *total = gpu->memory_total_mib * MIB;
    *reserved = gpu->memory_reserved_mib * MIB;
    *used = used_mib * MIB;
    *free_bytes = taken >= gpu->memory_total_mib ? 0 : (gpu->memory_total_mib - taken) * MIB;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    struct standin_gpu *gpu = NULL;
    unsigned long long reserved;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetMemoryInfo", device, F_MEMORY, &gpu);
    if (rc == NVML_SUCCESS && memory == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && !gpu->has_memory_total)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        take_memory(gpu, &memory->total, &reserved, &memory->used, &memory->free);
        memory->used += reserved; /* v1 has no reserved field; the driver counts it as used */
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetMemoryInfo_v2", device, F_MEMORY, &gpu);
    if (rc == NVML_SUCCESS && memory == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && memory->version != nvmlMemory_v2)
        rc = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (rc == NVML_SUCCESS && !gpu->has_memory_total)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        take_memory(gpu, &memory->total, &memory->reserved, &memory->used, &memory->free);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetTemperature", device, F_TEMPERATURE, &gpu);
    if (rc == NVML_SUCCESS && (temp == NULL || sensorType != NVML_TEMPERATURE_GPU))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && gpu->temperature_c.count == 0)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *temp = (unsigned int)series_take(&gpu->temperature_c);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t device, nvmlTemperature_v1_t *temperature)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetTemperatureV", device, F_TEMPERATURE, &gpu);
    if (rc == NVML_SUCCESS && temperature == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && temperature->version != nvmlTemperature_v1)
        rc = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (rc == NVML_SUCCESS && temperature->sensorType != NVML_TEMPERATURE_GPU)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && gpu->temperature_c.count == 0)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        temperature->temperature = (int)series_take(&gpu->temperature_c);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetPowerUsage", device, F_POWER, &gpu);
    if (rc == NVML_SUCCESS && power == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && gpu->power_mw.count == 0)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *power = (unsigned int)series_take(&gpu->power_mw);
    return leave(rc);
}

static nvmlReturn_t power_limit(const char *function, nvmlDevice_t device, int enforced,
                                unsigned int *limit)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device(function, device, F_POWER_LIMIT, &gpu);
    if (rc == NVML_SUCCESS && limit == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && enforced && gpu->has_enforced_power_limit)
        *limit = (unsigned int)gpu->enforced_power_limit_mw;
    else if (rc == NVML_SUCCESS && gpu->has_power_limit)
        *limit = (unsigned int)gpu->power_limit_mw;
    else if (rc == NVML_SUCCESS)
        rc = NVML_ERROR_NOT_SUPPORTED;
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
    return power_limit("nvmlDeviceGetEnforcedPowerLimit", device, 1, limit);
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit)
{
    return power_limit("nvmlDeviceGetPowerManagementLimit", device, 0, limit);
}

static nvmlReturn_t clocks_reasons(const char *function, nvmlDevice_t device,
                                   unsigned long long *reasons)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device(function, device, F_THROTTLE_REASONS, &gpu);
    if (rc == NVML_SUCCESS && reasons == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && gpu->throttle_reasons.count == 0)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *reasons = series_take(&gpu->throttle_reasons);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device,
                                                    unsigned long long *clocksEventReasons)
{
    return clocks_reasons("nvmlDeviceGetCurrentClocksEventReasons", device, clocksEventReasons);
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                       unsigned long long *clocksThrottleReasons)
{
    return clocks_reasons("nvmlDeviceGetCurrentClocksThrottleReasons", device,
                          clocksThrottleReasons);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetUtilizationRates", device, F_UTILIZATION, &gpu);
    if (rc == NVML_SUCCESS && utilization == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && gpu->utilization_gpu.count == 0)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        utilization->gpu = (unsigned int)series_take(&gpu->utilization_gpu);
        utilization->memory = gpu->utilization_memory.count > 0
                                  ? (unsigned int)series_take(&gpu->utilization_memory)
                                  : 0;
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                  unsigned int *pendingMode)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetMigMode", device, F_MIG_MODE, &gpu);
    if (rc == NVML_SUCCESS && (currentMode == NULL || pendingMode == NULL))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && !gpu->has_mig_mode)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        *currentMode = gpu->mig_current;
        *pendingMode = gpu->mig_pending;
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, int errorType, int counterType,
                                         unsigned long long *eccCounts)
{
    struct standin_gpu *gpu = NULL;
    nvmlReturn_t rc = enter_device("nvmlDeviceGetTotalEccErrors", device, F_ECC, &gpu);
    if (rc == NVML_SUCCESS &&
        (eccCounts == NULL ||
         (errorType != NVML_MEMORY_ERROR_TYPE_CORRECTED &&
          errorType != NVML_MEMORY_ERROR_TYPE_UNCORRECTED) ||
         (counterType != NVML_VOLATILE_ECC && counterType != NVML_AGGREGATE_ECC)))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && errorType == NVML_MEMORY_ERROR_TYPE_UNCORRECTED) {
        if (gpu->has_ecc_uncorrected)
            *eccCounts = gpu->ecc_uncorrected;
        else
            rc = NVML_ERROR_NOT_SUPPORTED;
    } else if (rc == NVML_SUCCESS) {
        if (gpu->has_ecc_corrected)
            *eccCounts = gpu->ecc_corrected;
        else
            rc = NVML_ERROR_NOT_SUPPORTED;
    }
    return leave(rc);
}

/*
 * NVML's two-call protocol: too small a buffer (or none) gets the needed count
 * and NVML_ERROR_INSUFFICIENT_SIZE; no processes is NVML_SUCCESS with count 0.
 */
static nvmlReturn_t running_processes(const char *function, nvmlDevice_t device, int compute,
                                      int layout_v2, unsigned int *count, void *infos)
{
    struct standin_gpu *gpu = NULL;
    unsigned n;
    unsigned i;
    nvmlReturn_t rc = enter_device(function, device, F_PROCESSES, &gpu);
    if (rc == NVML_SUCCESS && count == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc != NVML_SUCCESS)
        return leave(rc);
    n = compute ? gpu->process_count : 0;
    if (n > *count || (n > 0 && infos == NULL)) {
        *count = n;
        return leave(NVML_ERROR_INSUFFICIENT_SIZE);
    }
    for (i = 0; i < n; i++) {
        const struct process *proc = &gpu->processes[i];
        if (layout_v2) {
            nvmlProcessInfo_v2_t *out = &((nvmlProcessInfo_v2_t *)infos)[i];
            out->pid = proc->pid;
            out->usedGpuMemory = proc->used_mib * MIB;
            out->gpuInstanceId = NVML_VALUE_NOT_AVAILABLE_UINT;
            out->computeInstanceId = NVML_VALUE_NOT_AVAILABLE_UINT;
        } else {
            nvmlProcessInfo_v1_t *out = &((nvmlProcessInfo_v1_t *)infos)[i];
            out->pid = proc->pid;
            out->usedGpuMemory = proc->used_mib * MIB;
        }
    }
    *count = n;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                  nvmlProcessInfo_v1_t *infos)
{
    return running_processes("nvmlDeviceGetComputeRunningProcesses", device, 1, 0, infoCount,
                             infos);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device,
                                                     unsigned int *infoCount,
                                                     nvmlProcessInfo_v2_t *infos)
{
    return running_processes("nvmlDeviceGetComputeRunningProcesses_v2", device, 1, 1, infoCount,
                             infos);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                     unsigned int *infoCount,
                                                     nvmlProcessInfo_v2_t *infos)
{
    return running_processes("nvmlDeviceGetComputeRunningProcesses_v3", device, 1, 1, infoCount,
                             infos);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                   nvmlProcessInfo_v1_t *infos)
{
    return running_processes("nvmlDeviceGetGraphicsRunningProcesses", device, 0, 0, infoCount,
                             infos);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device,
                                                      unsigned int *infoCount,
                                                      nvmlProcessInfo_v2_t *infos)
{
    return running_processes("nvmlDeviceGetGraphicsRunningProcesses_v2", device, 0, 1,
                             infoCount, infos);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device,
                                                      unsigned int *infoCount,
                                                      nvmlProcessInfo_v2_t *infos)
{
    return running_processes("nvmlDeviceGetGraphicsRunningProcesses_v3", device, 0, 1,
                             infoCount, infos);
}

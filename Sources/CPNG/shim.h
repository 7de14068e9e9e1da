#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// A PNG writer on libpng's full API: rows as given (16-bit samples exactly as stored, unlike the
// simplified API's linear 16-bit path), with a chosen filter set and zlib level (the "up" filter
// at level 1 gave a 1 MP photo as 1.40 MB where the simplified API's PNG_IMAGE_FLAG_FAST, no
// filter at level 3, gave 2.12 MB, for less CPU; BENCHMARKS.md, restore). libpng reports errors
// by longjmp, which Swift cannot catch, so the calls live here.

/// PNG_ALL_FILTERS and PNG_FILTER_UP as constants Swift can import (the macros are composite).
static const int nacre_png_all_filters = PNG_ALL_FILTERS;
static const int nacre_png_filter_up = PNG_FILTER_UP;

typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    char message[192];
} nacre_png_output;

static void nacre_png_append(png_structp png, png_bytep bytes, size_t length) {
    nacre_png_output *output = (nacre_png_output *)png_get_io_ptr(png);
    if (output->size + length > output->capacity) {
        size_t capacity = output->capacity * 2 + length;
        unsigned char *grown = (unsigned char *)realloc(output->data, capacity);
        if (grown == NULL) png_error(png, "out of memory while writing the PNG");
        output->data = grown;
        output->capacity = capacity;
    }
    memcpy(output->data + output->size, bytes, length);
    output->size += length;
}

static void nacre_png_flush(png_structp png) { (void)png; }

static void nacre_png_error(png_structp png, png_const_charp message) {
    nacre_png_output *output = (nacre_png_output *)png_get_error_ptr(png);
    strncpy(output->message, message, sizeof(output->message) - 1);
    output->message[sizeof(output->message) - 1] = 0;
    png_longjmp(png, 1);
}

static void nacre_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

/// Writes rows of `row_bytes` bytes (big-endian samples for bit depth 16) as a non-interlaced
/// PNG with an sRGB chunk, trying the `filters` (PNG_FILTER_* flags) at `zlib_level`. On success
/// returns 1 and `output->data` (malloc'ed, the caller frees it) holds `output->size` bytes; on
/// failure returns 0 with `output->message` set.
static inline int nacre_png_write_rows(const unsigned char *rows, unsigned width, unsigned height, int bit_depth,
                                       int color_type, size_t row_bytes, int filters, int zlib_level,
                                       nacre_png_output *output) {
    output->data = NULL;
    output->size = 0;
    output->capacity = 0;
    output->message[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, output, nacre_png_error, nacre_png_warning);
    if (png == NULL) {
        strcpy(output->message, "libpng could not allocate its writer");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(output->data);
        output->data = NULL;
        if (output->message[0] == 0) strcpy(output->message, "libpng could not allocate its writer");
        return 0;
    }
    output->capacity = row_bytes * height / 2 + 4096;
    output->data = (unsigned char *)malloc(output->capacity);
    if (output->data == NULL) png_error(png, "out of memory while writing the PNG");
    png_set_write_fn(png, output, nacre_png_append, nacre_png_flush);
    png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    png_set_compression_level(png, zlib_level);
    png_write_info(png, info);
    for (unsigned row = 0; row < height; row++) png_write_row(png, rows + (size_t)row * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 1;
}

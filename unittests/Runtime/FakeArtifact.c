/*===- FakeArtifact.c - a hand-written weft artifact ----------------------===*\
|*                                                                            *|
|* Stands in for weft-compile output so that the runtime and weft-run are     *|
|* tested without the compiler. Follows the ABI of docs/Runtime.md strictly:  *|
|* packed entry points, inputs read through their strides, results malloc'ed  *|
|* and handed to the caller. A few functions bend the rules the runtime       *|
|* defends against (aliased results, a global, a wrong result size).          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char weft_manifest[] =
    "{\"format\": \"weft-artifact\", \"version\": 1, \"target\": \"cpu\",\n"
    " \"functions\": [\n"
    "  {\"name\": \"add_bias\", \"symbol\": \"_weft_entry_add_bias\",\n"
    "   \"inputs\": [{\"dtype\": \"f32\", \"shape\": [-1, 16]}],\n"
    "   \"params\": [{\"name\": \"bias\", \"dtype\": \"f32\", \"shape\": "
    "[16]}],\n"
    "   \"results\": [{\"dtype\": \"f32\", \"shape\": [-1, 16]}]},\n"
    "  {\"name\": \"sum_transpose\", \"symbol\": "
    "\"_weft_entry_sum_transpose\",\n"
    "   \"inputs\": [{\"dtype\": \"f32\", \"shape\": [-1, -1]}],\n"
    "   \"params\": [],\n"
    "   \"results\": [{\"dtype\": \"f32\", \"shape\": [-1]},\n"
    "               {\"dtype\": \"f32\", \"shape\": [-1, -1]}]},\n"
    "  {\"name\": \"convert\", \"symbol\": \"_weft_entry_convert\",\n"
    "   \"inputs\": [{\"dtype\": \"i64\", \"shape\": [-1]}, {\"dtype\": "
    "\"i32\", \"shape\": [-1]},\n"
    "              {\"dtype\": \"f64\", \"shape\": [-1]}, {\"dtype\": \"u8\", "
    "\"shape\": [-1]},\n"
    "              {\"dtype\": \"i8\", \"shape\": [-1]}, {\"dtype\": \"i1\", "
    "\"shape\": [-1]},\n"
    "              {\"dtype\": \"f16\", \"shape\": [-1]}, {\"dtype\": "
    "\"bf16\", \"shape\": [-1]},\n"
    "              {\"dtype\": \"i16\", \"shape\": [-1]}],\n"
    "   \"params\": [],\n"
    "   \"results\": [{\"dtype\": \"i64\", \"shape\": [-1]}, {\"dtype\": "
    "\"i32\", \"shape\": [-1]},\n"
    "               {\"dtype\": \"f64\", \"shape\": [-1]}, {\"dtype\": \"u8\", "
    "\"shape\": [-1]},\n"
    "               {\"dtype\": \"i8\", \"shape\": [-1]}, {\"dtype\": \"i1\", "
    "\"shape\": [-1]},\n"
    "               {\"dtype\": \"f16\", \"shape\": [-1]}, {\"dtype\": "
    "\"bf16\", \"shape\": [-1]},\n"
    "               {\"dtype\": \"i16\", \"shape\": [-1]}]},\n"
    "  {\"name\": \"unpack_i4\", \"symbol\": \"_weft_entry_unpack_i4\",\n"
    "   \"inputs\": [],\n"
    "   \"params\": [{\"name\": \"w_even\", \"dtype\": \"i4\", \"shape\": [4, "
    "6]},\n"
    "              {\"name\": \"w_odd\", \"dtype\": \"i4\", \"shape\": [3, "
    "5]}],\n"
    "   \"results\": [{\"dtype\": \"i8\", \"shape\": [4, 6]}, {\"dtype\": "
    "\"i8\", \"shape\": [3, 5]}]},\n"
    "  {\"name\": \"accumulate\", \"symbol\": \"_weft_entry_accumulate\",\n"
    "   \"inputs\": [{\"dtype\": \"i64\", \"shape\": []}], \"params\": [], "
    "\"results\": []},\n"
    "  {\"name\": \"passthrough\", \"symbol\": \"_weft_entry_passthrough\",\n"
    "   \"inputs\": [{\"dtype\": \"f32\", \"shape\": [-1]}], \"params\": [],\n"
    "   \"results\": [{\"dtype\": \"f32\", \"shape\": [-1]}]},\n"
    "  {\"name\": \"shared_result\", \"symbol\": "
    "\"_weft_entry_shared_result\",\n"
    "   \"inputs\": [{\"dtype\": \"f32\", \"shape\": [-1]}], \"params\": [],\n"
    "   \"results\": [{\"dtype\": \"f32\", \"shape\": [-1]}, {\"dtype\": "
    "\"f32\", \"shape\": [-1]}]},\n"
    "  {\"name\": \"constant\", \"symbol\": \"_weft_entry_constant\",\n"
    "   \"inputs\": [], \"params\": [],\n"
    "   \"results\": [{\"dtype\": \"f32\", \"shape\": [3]}]},\n"
    "  {\"name\": \"bad_result\", \"symbol\": \"_weft_entry_bad_result\",\n"
    "   \"inputs\": [], \"params\": [],\n"
    "   \"results\": [{\"dtype\": \"f32\", \"shape\": [4]}]}\n"
    " ]}\n";

/* A rank-r memref descriptor: sizes[r] then strides[r] follow `offset`. */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizesAndStrides[];
} Memref;

static int64_t sizeOf(const Memref *m, int dim) {
  return m->sizesAndStrides[dim];
}

static int64_t strideOf(const Memref *m, int rank, int dim) {
  return m->sizesAndStrides[rank + dim];
}

/* Result `index` in the result storage args[0], given the ranks of all
 * results before it (3 + 2r words each). */
static Memref *resultSlot(void **args, const int *ranks, int index) {
  int64_t *words = (int64_t *)args[0];
  for (int i = 0; i < index; ++i)
    words += 3 + 2 * ranks[i];
  return (Memref *)words;
}

/* Describes a dense row-major buffer. */
static void setResult(Memref *out, void *allocated, void *aligned,
                      int64_t offset, int rank, const int64_t *sizes) {
  out->allocated = allocated;
  out->aligned = aligned;
  out->offset = offset;
  int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    out->sizesAndStrides[i] = sizes[i];
    out->sizesAndStrides[rank + i] = stride;
    stride *= sizes[i];
  }
}

/* Element i of a rank-1 input, honouring its offset and stride. */
#define ELEMENT_1D(type, m, i)                                                 \
  (((const type *)(m)->aligned)[(m)->offset + (i)*strideOf((m), 1, 0)])

/* out[i, j] = x[i, j] + bias[j]; the result is over-allocated and aligned to
 * 64 bytes like MLIR's aligned allocations, so allocated != aligned. */
void _weft_entry_add_bias(void **args) {
  const Memref *x = (const Memref *)args[1];
  const Memref *bias = (const Memref *)args[2];
  int64_t rows = sizeOf(x, 0), cols = sizeOf(x, 1);
  char *allocated = (char *)malloc(rows * cols * sizeof(float) + 64);
  float *out = (float *)(((uintptr_t)allocated + 63) & ~(uintptr_t)63);
  const float *xData = (const float *)x->aligned + x->offset;
  const float *bData = (const float *)bias->aligned + bias->offset;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * cols + j] = xData[i * strideOf(x, 2, 0) + j * strideOf(x, 2, 1)] +
                          bData[j * strideOf(bias, 1, 0)];
  int64_t sizes[2] = {rows, cols};
  static const int ranks[] = {2};
  setResult(resultSlot(args, ranks, 0), allocated, out, 0, 2, sizes);
}

/* Results: the row sums of x, and x transposed as a strided view (strides
 * [1, cols], offset 3) of a copy of x. */
void _weft_entry_sum_transpose(void **args) {
  const Memref *x = (const Memref *)args[1];
  int64_t rows = sizeOf(x, 0), cols = sizeOf(x, 1);
  const float *xData = (const float *)x->aligned + x->offset;
  float *sums = (float *)malloc((rows ? rows : 1) * sizeof(float));
  float *copy = (float *)malloc((rows * cols + 3) * sizeof(float));
  for (int64_t i = 0; i < rows; ++i) {
    float sum = 0;
    for (int64_t j = 0; j < cols; ++j) {
      float value = xData[i * strideOf(x, 2, 0) + j * strideOf(x, 2, 1)];
      sum += value;
      copy[3 + i * cols + j] = value;
    }
    sums[i] = sum;
  }
  static const int ranks[] = {1, 2};
  setResult(resultSlot(args, ranks, 0), sums, sums, 0, 1, &rows);
  Memref *transposed = resultSlot(args, ranks, 1);
  transposed->allocated = copy;
  transposed->aligned = copy;
  transposed->offset = 3;
  transposed->sizesAndStrides[0] = cols;
  transposed->sizesAndStrides[1] = rows;
  transposed->sizesAndStrides[2] = 1;
  transposed->sizesAndStrides[3] = cols;
}

/* One elementwise map per dtype, so every dtype crosses the ABI both ways:
 * i64 3a-1, i32 b+7, f64 c/2, u8 ~d, i8 -e (wrapping), i1 !f, f16 and bf16
 * negated by their sign bit, i16 2i (wrapping). */
void _weft_entry_convert(void **args) {
  static const int ranks[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int k = 0; k < 9; ++k) {
    const Memref *in = (const Memref *)args[1 + k];
    int64_t n = sizeOf(in, 0);
    static const size_t elementSizes[] = {8, 4, 8, 1, 1, 1, 2, 2, 2};
    void *out = malloc(n ? n * elementSizes[k] : 1);
    for (int64_t i = 0; i < n; ++i) {
      switch (k) {
      case 0:
        ((int64_t *)out)[i] = 3 * ELEMENT_1D(int64_t, in, i) - 1;
        break;
      case 1:
        ((int32_t *)out)[i] = ELEMENT_1D(int32_t, in, i) + 7;
        break;
      case 2:
        ((double *)out)[i] = ELEMENT_1D(double, in, i) * 0.5;
        break;
      case 3:
        ((uint8_t *)out)[i] = (uint8_t)~ELEMENT_1D(uint8_t, in, i);
        break;
      case 4:
        ((uint8_t *)out)[i] = (uint8_t)(0u - ELEMENT_1D(uint8_t, in, i));
        break;
      case 5:
        ((uint8_t *)out)[i] = ELEMENT_1D(uint8_t, in, i) ? 0 : 1;
        break;
      case 6:
      case 7:
        ((uint16_t *)out)[i] = ELEMENT_1D(uint16_t, in, i) ^ 0x8000u;
        break;
      case 8:
        ((uint16_t *)out)[i] = (uint16_t)(ELEMENT_1D(uint16_t, in, i) * 2u);
        break;
      }
    }
    setResult(resultSlot(args, ranks, k), out, out, 0, 1, &n);
  }
}

/* Unpacks the flat i4 params (element e in byte e/2, even e in the low
 * nibble, 4-bit two's complement) into i8 results. */
void _weft_entry_unpack_i4(void **args) {
  static const int ranks[] = {2, 2};
  static const int64_t shapes[2][2] = {{4, 6}, {3, 5}};
  for (int k = 0; k < 2; ++k) {
    const Memref *packed = (const Memref *)args[1 + k];
    int64_t n = shapes[k][0] * shapes[k][1];
    int8_t *out = (int8_t *)malloc(n);
    for (int64_t e = 0; e < n; ++e) {
      uint8_t byte = ELEMENT_1D(uint8_t, packed, e / 2);
      int nibble = (byte >> (4 * (e % 2))) & 0xF;
      out[e] = (int8_t)(nibble >= 8 ? nibble - 16 : nibble);
    }
    setResult(resultSlot(args, ranks, k), out, out, 0, 2, shapes[k]);
  }
}

/* No results, so args[0] is the input: adds it to a counter tests read. */
int64_t weft_fake_accumulator = 0;
void _weft_entry_accumulate(void **args) {
  const Memref *x = (const Memref *)args[0];
  weft_fake_accumulator += ((const int64_t *)x->aligned)[x->offset];
}

/* Returns its input's buffer (what bufferization may do for an identity):
 * the caller must copy it, not free it. */
void _weft_entry_passthrough(void **args) {
  const Memref *x = (const Memref *)args[1];
  Memref *out = (Memref *)args[0];
  memcpy(out, x, (3 + 2) * sizeof(int64_t));
}

/* Two results in one allocation: 2x at offset 0 and 3x at offset n. */
void _weft_entry_shared_result(void **args) {
  static const int ranks[] = {1, 1};
  const Memref *x = (const Memref *)args[1];
  int64_t n = sizeOf(x, 0);
  float *buffer = (float *)malloc(n ? 2 * n * sizeof(float) : 1);
  for (int64_t i = 0; i < n; ++i) {
    buffer[i] = 2 * ELEMENT_1D(float, x, i);
    buffer[n + i] = 3 * ELEMENT_1D(float, x, i);
  }
  setResult(resultSlot(args, ranks, 0), buffer, buffer, 0, 1, &n);
  setResult(resultSlot(args, ranks, 1), buffer, buffer, n, 1, &n);
}

/* A global returned the way MLIR lowers memref.get_global: the allocated
 * pointer is 0xdeadbeef and must never be freed. */
static const float kConstant[3] = {1.5f, -2.0f, 0.25f};
void _weft_entry_constant(void **args) {
  static const int ranks[] = {1};
  int64_t n = 3;
  setResult(resultSlot(args, ranks, 0), (void *)(uintptr_t)0xdeadbeef,
            (void *)(uintptr_t)kConstant, 0, 1, &n);
}

/* Breaks the manifest: returns 5 elements where it declares 4. */
void _weft_entry_bad_result(void **args) {
  static const int ranks[] = {1};
  int64_t n = 5;
  float *out = (float *)calloc(n, sizeof(float));
  setResult(resultSlot(args, ranks, 0), out, out, 0, 1, &n);
}

//===- ArtifactTest.cpp - the C API on the hand-written fake artifact -----===//
//
// Loads fake-artifact.weft (FakeArtifact.c), binds params from archives the
// test writes, calls each function on random data and checks every element
// against a reference computed here.
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <thread>

#include <dlfcn.h>
#include <unistd.h>

using namespace weft::runtime::testing;

namespace {

struct TensorDeleter {
  void operator()(weftTensorImpl *tensor) const { weftTensorRelease(tensor); }
};
using Tensor = std::unique_ptr<weftTensorImpl, TensorDeleter>;

template <typename T>
Tensor makeTensor(weftDType dtype, std::vector<int64_t> shape,
                  const std::vector<T> &values) {
  weftTensor tensor = nullptr;
  StatusInfo status = consume(weftTensorCreate(
      dtype, shape.data(), shape.size(), values.data(), &tensor));
  EXPECT_EQ(status.code, WEFT_STATUS_OK) << status.message;
  return Tensor(tensor);
}

template <typename T> const T *dataOf(const Tensor &tensor) {
  return static_cast<const T *>(weftTensorGetData(tensor.get()));
}

std::vector<int64_t> shapeOf(const Tensor &tensor) {
  const int64_t *shape = weftTensorGetShape(tensor.get());
  return std::vector<int64_t>(shape, shape + weftTensorGetRank(tensor.get()));
}

std::vector<float> randomFloats(std::mt19937_64 &rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> values(n);
  for (float &v : values)
    v = normal(rng);
  return values;
}

/// Calls `function`; returns the status and fills `outputs`.
StatusInfo call(weftFunction function, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs, size_t numOutputs) {
  std::vector<weftTensor> in;
  for (const Tensor &tensor : inputs)
    in.push_back(tensor.get());
  std::vector<weftTensor> out(numOutputs, nullptr);
  StatusInfo status =
      consume(weftCall(function, in.data(), in.size(), out.data(), out.size()));
  outputs.clear();
  for (weftTensor tensor : out)
    outputs.emplace_back(tensor);
  return status;
}

class ArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_WEFT_OK(weftArtifactOpen(fakeArtifactPath().c_str(), &artifact));
  }
  void TearDown() override { weftArtifactRelease(artifact); }

  weftFunction find(const char *name) {
    weftFunction function = nullptr;
    StatusInfo status =
        consume(weftArtifactFindFunction(artifact, name, &function));
    EXPECT_EQ(status.code, WEFT_STATUS_OK) << status.message;
    return function;
  }

  /// Writes an archive and opens it.
  weftParams openParams(const std::string &bytes) {
    std::string path =
        dir.write("params" + std::to_string(counter++) + ".safetensors", bytes);
    lastParamsPath = path;
    weftParams params = nullptr;
    StatusInfo status = consume(weftParamsOpen(path.c_str(), &params));
    EXPECT_EQ(status.code, WEFT_STATUS_OK) << status.message;
    return params;
  }

  /// Binds add_bias to `bias` through a one-entry archive.
  void bindBias(const std::vector<float> &bias) {
    weftParams params =
        openParams(makeSafetensors({{"bias", "F32", {16}, toBytes(bias)}}));
    ASSERT_WEFT_OK(weftFunctionBindParams(find("add_bias"), params));
    // The binding keeps the archive mapped.
    weftParamsRelease(params);
  }

  void checkAddBias(weftFunction function, const std::vector<float> &bias,
                    int64_t rows, std::mt19937_64 &rng) {
    std::vector<float> x = randomFloats(rng, rows * 16);
    std::vector<Tensor> inputs, outputs;
    inputs.push_back(makeTensor(WEFT_DTYPE_F32, {rows, 16}, x));
    StatusInfo status = call(function, inputs, outputs, 1);
    ASSERT_EQ(status.code, WEFT_STATUS_OK) << status.message;
    ASSERT_EQ(shapeOf(outputs[0]), (std::vector<int64_t>{rows, 16}));
    EXPECT_EQ(weftTensorGetDType(outputs[0].get()), WEFT_DTYPE_F32);
    // f32 addition is correctly rounded: the results must match exactly.
    const float *out = dataOf<float>(outputs[0]);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < 16; ++j)
        ASSERT_EQ(out[i * 16 + j], x[i * 16 + j] + bias[j])
            << "at [" << i << ", " << j << "]";
  }

  weftArtifact artifact = nullptr;
  TempDir dir;
  std::string lastParamsPath;
  int counter = 0;
};

TEST_F(ArtifactTest, ListsFunctionsAndSignatures) {
  EXPECT_STREQ(weftArtifactGetTarget(artifact), "cpu");
  const char *names[] = {"add_bias",      "sum_transpose", "convert",
                         "unpack_i4",     "accumulate",    "passthrough",
                         "shared_result", "constant",      "bad_result"};
  ASSERT_EQ(weftArtifactGetNumFunctions(artifact), std::size(names));
  for (size_t i = 0; i < std::size(names); ++i)
    EXPECT_STREQ(weftFunctionGetName(weftArtifactGetFunction(artifact, i)),
                 names[i]);
  EXPECT_EQ(weftArtifactGetFunction(artifact, std::size(names)), nullptr);

  weftFunction addBias = find("add_bias");
  ASSERT_NE(addBias, nullptr);
  EXPECT_EQ(weftFunctionGetNumInputs(addBias), 1u);
  EXPECT_EQ(weftFunctionGetNumParams(addBias), 1u);
  EXPECT_EQ(weftFunctionGetNumResults(addBias), 1u);

  weftTensorSpec spec;
  ASSERT_WEFT_OK(weftFunctionGetInputSpec(addBias, 0, &spec));
  EXPECT_EQ(spec.name, nullptr);
  EXPECT_EQ(spec.dtype, WEFT_DTYPE_F32);
  ASSERT_EQ(spec.rank, 2u);
  EXPECT_EQ(spec.shape[0], -1);
  EXPECT_EQ(spec.shape[1], 16);
  ASSERT_WEFT_OK(weftFunctionGetParamSpec(addBias, 0, &spec));
  EXPECT_STREQ(spec.name, "bias");
  ASSERT_EQ(spec.rank, 1u);
  EXPECT_EQ(spec.shape[0], 16);
  ASSERT_WEFT_OK(weftFunctionGetResultSpec(addBias, 0, &spec));
  EXPECT_EQ(spec.rank, 2u);

  StatusInfo range = consume(weftFunctionGetInputSpec(addBias, 1, &spec));
  EXPECT_EQ(range.code, WEFT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(range.message,
            "input index 1 out of range (function 'add_bias' has 1 inputs)");

  weftFunction missing = nullptr;
  StatusInfo notFound =
      consume(weftArtifactFindFunction(artifact, "forward", &missing));
  EXPECT_EQ(notFound.code, WEFT_STATUS_NOT_FOUND);
  EXPECT_EQ(notFound.message,
            "no function 'forward' in " + fakeArtifactPath() +
                " (functions: add_bias, sum_transpose, convert, unpack_i4, "
                "accumulate, passthrough, shared_result, constant, "
                "bad_result)");
  EXPECT_EQ(missing, nullptr);
}

TEST_F(ArtifactTest, AddBiasMatchesReference) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> bias = randomFloats(rng, 16);
  bindBias(bias);
  for (int64_t rows : {1, 7, 33, 0})
    checkAddBias(find("add_bias"), bias, rows, rng);
}

TEST_F(ArtifactTest, TimedCallsComputeTheSameAndMeasure) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> bias = randomFloats(rng, 16);
  bindBias(bias);
  weftFunction addBias = find("add_bias");
  std::vector<float> x = randomFloats(rng, 3 * 16);
  Tensor input = makeTensor(WEFT_DTYPE_F32, {3, 16}, x);
  weftTensor in = input.get(), out = nullptr;
  double ms = -1;
  ASSERT_WEFT_OK(weftCallTimed(addBias, &in, 1, &out, 1, &ms));
  Tensor output(out);
  // A cpu artifact's wall time: positive (the call did work), and far below
  // a second for 48 additions.
  EXPECT_GT(ms, 0.0);
  EXPECT_LT(ms, 1000.0);
  const float *values = dataOf<float>(output);
  for (int64_t i = 0; i < 3 * 16; ++i)
    ASSERT_EQ(values[i], x[i] + bias[i % 16]) << "at " << i;

  // Errors leave 0 and no outputs; the time's pointer is required.
  Tensor wrong = makeTensor(WEFT_DTYPE_F64, {2, 16}, std::vector<double>(32));
  in = wrong.get();
  ms = -1;
  StatusInfo status = consume(weftCallTimed(addBias, &in, 1, &out, 1, &ms));
  EXPECT_EQ(status.code, WEFT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(ms, 0.0);
  EXPECT_EQ(out, nullptr);
  status = consume(weftCallTimed(addBias, &in, 1, &out, 1, nullptr));
  EXPECT_EQ(status.code, WEFT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(status.message, "weftCallTimed: null argument");
}

TEST_F(ArtifactTest, UnboundParamsAreAnError) {
  std::vector<Tensor> inputs, outputs;
  inputs.push_back(
      makeTensor(WEFT_DTYPE_F32, {2, 16}, std::vector<float>(32, 1.0f)));
  StatusInfo status = call(find("add_bias"), inputs, outputs, 1);
  EXPECT_EQ(status.code, WEFT_STATUS_FAILED_PRECONDITION);
  EXPECT_EQ(status.message, "function 'add_bias': its 1 params are not bound "
                            "(bind a parameter archive)");
  EXPECT_EQ(outputs[0], nullptr);
}

TEST_F(ArtifactTest, BindingTheArtifactIsAllOrNothing) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> bias = randomFloats(rng, 16);
  weftParams partial =
      openParams(makeSafetensors({{"bias", "F32", {16}, toBytes(bias)}}));
  StatusInfo status = consume(weftArtifactBindParams(artifact, partial));
  EXPECT_EQ(status.code, WEFT_STATUS_NOT_FOUND);
  EXPECT_EQ(status.message, "param 'w_even' of function 'unpack_i4' not "
                            "found in " +
                                lastParamsPath);
  weftParamsRelease(partial);

  // add_bias stayed unbound although its own param was there.
  std::vector<Tensor> inputs, outputs;
  inputs.push_back(makeTensor(WEFT_DTYPE_F32, {1, 16}, bias));
  EXPECT_EQ(call(find("add_bias"), inputs, outputs, 1).code,
            WEFT_STATUS_FAILED_PRECONDITION);

  weftParams full = openParams(
      makeSafetensors({{"bias", "F32", {16}, toBytes(bias)},
                       {"w_even", "U8", {4, 3}, std::string(12, '\0')},
                       {"w_odd", "U8", {3, 3}, std::string(9, '\0')}}));
  ASSERT_WEFT_OK(weftArtifactBindParams(artifact, full));
  weftParamsRelease(full);
  checkAddBias(find("add_bias"), bias, 3, rng);
}

TEST_F(ArtifactTest, BindErrorsNameTheParam) {
  std::vector<double> wide(16, 1.0);
  std::vector<float> narrow(8, 1.0f);
  struct Case {
    std::string bytes;
    const char *function;
    weftStatusCode code;
    std::string message; // before " in <path>, got ..."
    std::string got;
  };
  const Case cases[] = {
      {makeSafetensors({{"other", "F32", {8}, toBytes(narrow)}}), "add_bias",
       WEFT_STATUS_NOT_FOUND, "param 'bias' of function 'add_bias' not found",
       ""},
      {makeSafetensors({{"bias", "F64", {16}, toBytes(wide)}}), "add_bias",
       WEFT_STATUS_INVALID_ARGUMENT,
       "param 'bias' of function 'add_bias': expected F32[16]", "F64[16]"},
      {makeSafetensors({{"bias", "F32", {8}, toBytes(narrow)}}), "add_bias",
       WEFT_STATUS_INVALID_ARGUMENT,
       "param 'bias' of function 'add_bias': expected F32[16]", "F32[8]"},
      {makeSafetensors({{"bias", "F32", {2, 4}, toBytes(narrow)}}), "add_bias",
       WEFT_STATUS_INVALID_ARGUMENT,
       "param 'bias' of function 'add_bias': expected F32[16]", "F32[2, 4]"},
      {makeSafetensors({{"w_even", "U8", {4, 6}, std::string(24, '\0')},
                        {"w_odd", "U8", {3, 3}, std::string(9, '\0')}}),
       "unpack_i4", WEFT_STATUS_INVALID_ARGUMENT,
       "param 'w_even' of function 'unpack_i4': expected U8[4, 3] or I8[4, 3] "
       "(i4[4, 6] packed two per byte)",
       "U8[4, 6]"},
      {makeSafetensors({{"w_even", "I32", {4, 3}, std::string(48, '\0')},
                        {"w_odd", "U8", {3, 3}, std::string(9, '\0')}}),
       "unpack_i4", WEFT_STATUS_INVALID_ARGUMENT,
       "param 'w_even' of function 'unpack_i4': expected U8[4, 3] or I8[4, 3] "
       "(i4[4, 6] packed two per byte)",
       "I32[4, 3]"},
  };
  for (const Case &c : cases) {
    weftParams params = openParams(c.bytes);
    StatusInfo status =
        consume(weftFunctionBindParams(find(c.function), params));
    EXPECT_EQ(status.code, c.code);
    std::string expected = c.message + " in " + lastParamsPath;
    if (!c.got.empty())
      expected += ", got " + c.got;
    EXPECT_EQ(status.message, expected);
    weftParamsRelease(params);
  }
}

TEST_F(ArtifactTest, MisalignedParamsAreCopied) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> bias = randomFloats(rng, 16);
  // Two bytes of padding first put the f32 data at an odd address.
  std::string header =
      R"({"pad": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
          "bias": {"dtype": "F32", "shape": [16], "data_offsets": [2, 66]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  weftParams params =
      openParams(makeSafetensorsRaw(header, "pp" + toBytes(bias)));
  weftParamInfo info;
  ASSERT_WEFT_OK(weftParamsFind(params, "bias", &info));
  ASSERT_NE(reinterpret_cast<uintptr_t>(info.data) % 4, 0u);
  ASSERT_WEFT_OK(weftFunctionBindParams(find("add_bias"), params));
  weftParamsRelease(params);
  checkAddBias(find("add_bias"), bias, 5, rng);
}

TEST_F(ArtifactTest, CallChecksInputs) {
  bindBias(std::vector<float>(16, 0.5f));
  weftFunction addBias = find("add_bias");
  struct Case {
    const char *what;
    std::vector<Tensor> inputs;
    size_t numOutputs;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"no inputs", {}, 1, "function 'add_bias': expected 1 inputs, got 0"});
  std::vector<Tensor> two;
  two.push_back(makeTensor(WEFT_DTYPE_F32, {1, 16}, std::vector<float>(16)));
  two.push_back(makeTensor(WEFT_DTYPE_F32, {1, 16}, std::vector<float>(16)));
  cases.push_back({"two inputs", std::move(two), 1,
                   "function 'add_bias': expected 1 inputs, got 2"});
  std::vector<Tensor> f64;
  f64.push_back(makeTensor(WEFT_DTYPE_F64, {2, 16}, std::vector<double>(32)));
  cases.push_back({"dtype", std::move(f64), 1,
                   "function 'add_bias': input 0: expected f32[?, 16], got "
                   "f64[2, 16]"});
  std::vector<Tensor> rank1;
  rank1.push_back(makeTensor(WEFT_DTYPE_F32, {16}, std::vector<float>(16)));
  cases.push_back({"rank", std::move(rank1), 1,
                   "function 'add_bias': input 0: expected f32[?, 16], got "
                   "f32[16]"});
  std::vector<Tensor> staticDim;
  staticDim.push_back(
      makeTensor(WEFT_DTYPE_F32, {2, 8}, std::vector<float>(16)));
  cases.push_back({"static dim", std::move(staticDim), 1,
                   "function 'add_bias': input 0: expected f32[?, 16], got "
                   "f32[2, 8]"});
  std::vector<Tensor> ok;
  ok.push_back(makeTensor(WEFT_DTYPE_F32, {1, 16}, std::vector<float>(16)));
  cases.push_back({"outputs", std::move(ok), 2,
                   "function 'add_bias': has 1 results, got room for 2"});
  std::vector<Tensor> null;
  null.emplace_back(nullptr);
  cases.push_back({"null input", std::move(null), 1,
                   "function 'add_bias': input 0 is null"});

  for (Case &c : cases) {
    std::vector<Tensor> outputs;
    StatusInfo status = call(addBias, c.inputs, outputs, c.numOutputs);
    EXPECT_EQ(status.code, WEFT_STATUS_INVALID_ARGUMENT) << c.what;
    EXPECT_EQ(status.message, c.message) << c.what;
    for (const Tensor &output : outputs)
      EXPECT_EQ(output, nullptr) << c.what;
  }

  Tensor wrong = makeTensor(WEFT_DTYPE_F64, {2, 16}, std::vector<double>(32));
  StatusInfo check = consume(weftFunctionCheckInput(addBias, 0, wrong.get()));
  EXPECT_EQ(check.code, WEFT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(check.message, "expected f32[?, 16], got f64[2, 16]");
  Tensor right = makeTensor(WEFT_DTYPE_F32, {0, 16}, std::vector<float>());
  ASSERT_WEFT_OK(weftFunctionCheckInput(addBias, 0, right.get()));
}

TEST_F(ArtifactTest, StridedResultsAreCopiedContiguously) {
  std::mt19937_64 rng = makeRng();
  weftFunction sumTranspose = find("sum_transpose");
  for (auto [rows, cols] :
       {std::pair<int64_t, int64_t>{5, 7}, {1, 1}, {16, 3}, {0, 4}, {3, 0}}) {
    std::vector<float> x = randomFloats(rng, rows * cols);
    std::vector<Tensor> inputs, outputs;
    inputs.push_back(makeTensor(WEFT_DTYPE_F32, {rows, cols}, x));
    StatusInfo status = call(sumTranspose, inputs, outputs, 2);
    ASSERT_EQ(status.code, WEFT_STATUS_OK) << status.message;
    ASSERT_EQ(shapeOf(outputs[0]), (std::vector<int64_t>{rows}));
    ASSERT_EQ(shapeOf(outputs[1]), (std::vector<int64_t>{cols, rows}));
    const float *sums = dataOf<float>(outputs[0]);
    for (int64_t i = 0; i < rows; ++i) {
      double reference = 0, magnitude = 0;
      for (int64_t j = 0; j < cols; ++j) {
        reference += x[i * cols + j];
        magnitude += std::fabs(x[i * cols + j]);
      }
      // f32 accumulation in any order: relative to the sum of magnitudes.
      EXPECT_NEAR(sums[i], reference, 1e-6 * cols * magnitude + 1e-30)
          << "row " << i;
    }
    const float *transposed = dataOf<float>(outputs[1]);
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < rows; ++i)
        ASSERT_EQ(transposed[j * rows + i], x[i * cols + j])
            << "at [" << j << ", " << i << "]";
  }
}

TEST_F(ArtifactTest, EveryDTypeCrossesTheAbi) {
  std::mt19937_64 rng = makeRng();
  std::uniform_int_distribution<int64_t> i64(-(int64_t(1) << 40), int64_t(1)
                                                                      << 40);
  std::uniform_int_distribution<int32_t> i32(-(1 << 30), 1 << 30);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> bit(0, 1);
  std::uniform_int_distribution<int> word(0, 0xFFFF);
  std::normal_distribution<double> normal(0.0, 10.0);
  auto length = [&] { return int64_t(rng() % 9); };

  std::vector<int64_t> a(length());
  std::vector<int32_t> b(length());
  std::vector<double> c(length());
  std::vector<uint8_t> d(length()), e(length()), f(length());
  std::vector<uint16_t> g(length()), h(length()), k(length());
  for (auto &v : a)
    v = i64(rng);
  for (auto &v : b)
    v = i32(rng);
  for (auto &v : c)
    v = normal(rng);
  for (auto &v : d)
    v = byte(rng);
  for (auto &v : e)
    v = byte(rng);
  for (auto &v : f)
    v = bit(rng);
  for (auto *words : {&g, &h, &k})
    for (auto &v : *words)
      v = word(rng);

  std::vector<Tensor> inputs, outputs;
  inputs.push_back(makeTensor(WEFT_DTYPE_I64, {int64_t(a.size())}, a));
  inputs.push_back(makeTensor(WEFT_DTYPE_I32, {int64_t(b.size())}, b));
  inputs.push_back(makeTensor(WEFT_DTYPE_F64, {int64_t(c.size())}, c));
  inputs.push_back(makeTensor(WEFT_DTYPE_U8, {int64_t(d.size())}, d));
  inputs.push_back(makeTensor(WEFT_DTYPE_I8, {int64_t(e.size())}, e));
  inputs.push_back(makeTensor(WEFT_DTYPE_I1, {int64_t(f.size())}, f));
  inputs.push_back(makeTensor(WEFT_DTYPE_F16, {int64_t(g.size())}, g));
  inputs.push_back(makeTensor(WEFT_DTYPE_BF16, {int64_t(h.size())}, h));
  inputs.push_back(makeTensor(WEFT_DTYPE_I16, {int64_t(k.size())}, k));
  StatusInfo status = call(find("convert"), inputs, outputs, 9);
  ASSERT_EQ(status.code, WEFT_STATUS_OK) << status.message;

  const weftDType dtypes[] = {WEFT_DTYPE_I64, WEFT_DTYPE_I32,  WEFT_DTYPE_F64,
                              WEFT_DTYPE_U8,  WEFT_DTYPE_I8,   WEFT_DTYPE_I1,
                              WEFT_DTYPE_F16, WEFT_DTYPE_BF16, WEFT_DTYPE_I16};
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(weftTensorGetDType(outputs[i].get()), dtypes[i]);
    EXPECT_EQ(shapeOf(outputs[i]), shapeOf(inputs[i]));
  }
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(dataOf<int64_t>(outputs[0])[i], 3 * a[i] - 1);
  for (size_t i = 0; i < b.size(); ++i)
    EXPECT_EQ(dataOf<int32_t>(outputs[1])[i], b[i] + 7);
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_EQ(dataOf<double>(outputs[2])[i], c[i] / 2);
  for (size_t i = 0; i < d.size(); ++i)
    EXPECT_EQ(dataOf<uint8_t>(outputs[3])[i], uint8_t(255 - d[i]));
  for (size_t i = 0; i < e.size(); ++i)
    EXPECT_EQ(dataOf<int8_t>(outputs[4])[i], int8_t(uint8_t(256 - e[i])));
  for (size_t i = 0; i < f.size(); ++i)
    EXPECT_EQ(dataOf<uint8_t>(outputs[5])[i], 1 - f[i]);
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_EQ(dataOf<uint16_t>(outputs[6])[i], g[i] ^ 0x8000);
  for (size_t i = 0; i < h.size(); ++i)
    EXPECT_EQ(dataOf<uint16_t>(outputs[7])[i], h[i] ^ 0x8000);
  for (size_t i = 0; i < k.size(); ++i)
    EXPECT_EQ(dataOf<uint16_t>(outputs[8])[i], uint16_t(k[i] * 2));
}

TEST_F(ArtifactTest, Int4ParamsArriveFlat) {
  std::mt19937_64 rng = makeRng();
  std::uniform_int_distribution<int> value(-8, 7);
  // w_even [4, 6] as U8, w_odd [3, 5] as I8 with a padding nibble per row
  // (docs/Quantization.md), which the runtime repacks flat.
  std::vector<int> even(24), odd(15);
  for (int &v : even)
    v = value(rng);
  for (int &v : odd)
    v = value(rng);
  auto packRows = [](const std::vector<int> &values, int rows, int m) {
    int rowBytes = (m + 1) / 2;
    std::string packed(rows * rowBytes, '\0');
    for (int r = 0; r < rows; ++r)
      for (int k = 0; k < m; ++k)
        packed[r * rowBytes + k / 2] |=
            static_cast<char>((values[r * m + k] & 0xF) << (k % 2 ? 4 : 0));
    // A nonzero padding nibble must be ignored.
    if (m % 2)
      for (int r = 0; r < rows; ++r)
        packed[r * rowBytes + rowBytes - 1] |= static_cast<char>(0xA0);
    return packed;
  };
  weftParams params = openParams(
      makeSafetensors({{"w_even", "U8", {4, 3}, packRows(even, 4, 6)},
                       {"w_odd", "I8", {3, 3}, packRows(odd, 3, 5)}}));
  ASSERT_WEFT_OK(weftFunctionBindParams(find("unpack_i4"), params));
  weftParamsRelease(params);

  std::vector<Tensor> outputs;
  StatusInfo status = call(find("unpack_i4"), {}, outputs, 2);
  ASSERT_EQ(status.code, WEFT_STATUS_OK) << status.message;
  ASSERT_EQ(shapeOf(outputs[0]), (std::vector<int64_t>{4, 6}));
  ASSERT_EQ(shapeOf(outputs[1]), (std::vector<int64_t>{3, 5}));
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(dataOf<int8_t>(outputs[0])[i], even[i]) << "w_even " << i;
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(dataOf<int8_t>(outputs[1])[i], odd[i]) << "w_odd " << i;
}

TEST_F(ArtifactTest, NoResultsMeansNoResultSlot) {
  // accumulate adds its rank-0 input to a counter: it only sees the value
  // when args[0] is the input, not a result slot.
  void *handle = dlopen(fakeArtifactPath().c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto *counter =
      static_cast<int64_t *>(dlsym(handle, "weft_fake_accumulator"));
  ASSERT_NE(counter, nullptr);
  int64_t before = *counter;
  std::vector<Tensor> inputs, outputs;
  inputs.push_back(makeTensor(WEFT_DTYPE_I64, {}, std::vector<int64_t>{41}));
  ASSERT_EQ(call(find("accumulate"), inputs, outputs, 0).code, WEFT_STATUS_OK);
  ASSERT_EQ(call(find("accumulate"), inputs, outputs, 0).code, WEFT_STATUS_OK);
  EXPECT_EQ(*counter - before, 82);
  dlclose(handle);
}

TEST_F(ArtifactTest, ResultsAliasingInputsAreCopied) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> x = randomFloats(rng, 11);
  std::vector<Tensor> inputs, outputs;
  inputs.push_back(makeTensor(WEFT_DTYPE_F32, {11}, x));
  ASSERT_EQ(call(find("passthrough"), inputs, outputs, 1).code, WEFT_STATUS_OK);
  EXPECT_NE(weftTensorGetData(outputs[0].get()),
            weftTensorGetData(inputs[0].get()));
  for (int i = 0; i < 11; ++i)
    EXPECT_EQ(dataOf<float>(outputs[0])[i], x[i]);
  // Both release their own storage (ASan reports a double free otherwise).
  outputs.clear();
  inputs.clear();
}

TEST_F(ArtifactTest, ResultsSharingAnAllocation) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> x = randomFloats(rng, 9);
  std::vector<Tensor> inputs, outputs;
  inputs.push_back(makeTensor(WEFT_DTYPE_F32, {9}, x));
  ASSERT_EQ(call(find("shared_result"), inputs, outputs, 2).code,
            WEFT_STATUS_OK);
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(dataOf<float>(outputs[0])[i], 2 * x[i]);
    EXPECT_EQ(dataOf<float>(outputs[1])[i], 3 * x[i]);
  }
}

TEST_F(ArtifactTest, GlobalResultsAreCopiedNotFreed) {
  std::vector<Tensor> outputs;
  ASSERT_EQ(call(find("constant"), {}, outputs, 1).code, WEFT_STATUS_OK);
  ASSERT_EQ(shapeOf(outputs[0]), (std::vector<int64_t>{3}));
  EXPECT_EQ(dataOf<float>(outputs[0])[0], 1.5f);
  EXPECT_EQ(dataOf<float>(outputs[0])[1], -2.0f);
  EXPECT_EQ(dataOf<float>(outputs[0])[2], 0.25f);
}

TEST_F(ArtifactTest, WrongResultSizeIsAnInternalError) {
  std::vector<Tensor> outputs;
  StatusInfo status = call(find("bad_result"), {}, outputs, 1);
  EXPECT_EQ(status.code, WEFT_STATUS_INTERNAL);
  EXPECT_EQ(status.message,
            "function 'bad_result': result 0 has sizes [5], manifest says "
            "f32[4]");
  EXPECT_EQ(outputs[0], nullptr);
}

TEST_F(ArtifactTest, ResultsOutliveTheArtifact) {
  std::vector<Tensor> inputs, outputs;
  inputs.push_back(makeTensor(WEFT_DTYPE_F32, {2}, std::vector<float>{1, 2}));
  ASSERT_EQ(call(find("shared_result"), inputs, outputs, 2).code,
            WEFT_STATUS_OK);
  weftArtifactRelease(artifact);
  artifact = nullptr;
  EXPECT_EQ(dataOf<float>(outputs[1])[1], 6.0f);
}

TEST_F(ArtifactTest, ConcurrentCalls) {
  std::mt19937_64 rng = makeRng();
  std::vector<float> bias = randomFloats(rng, 16);
  bindBias(bias);
  weftFunction addBias = find("add_bias");
  std::vector<std::vector<float>> xs;
  for (int t = 0; t < 4; ++t)
    xs.push_back(randomFloats(rng, 16 * (t + 1)));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      int64_t rows = t + 1;
      int64_t shape[] = {rows, 16};
      for (int iteration = 0; iteration < 50; ++iteration) {
        weftTensor input = nullptr, output = nullptr;
        weftStatusRelease(
            weftTensorWrap(WEFT_DTYPE_F32, shape, 2, xs[t].data(), &input));
        weftStatus status = weftCall(addBias, &input, 1, &output, 1);
        if (status || !output) {
          ++mismatches[t];
        } else {
          const float *out = static_cast<float *>(weftTensorGetData(output));
          for (int64_t i = 0; i < rows * 16; ++i)
            mismatches[t] += out[i] != xs[t][i] + bias[i % 16];
        }
        weftStatusRelease(status);
        weftTensorRelease(output);
        weftTensorRelease(input);
      }
    });
  }
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(ArtifactOpenTest, OpenErrors) {
  TempDir dir;
  std::string text = dir.write("text.weft", "this is not an ELF file\n");
  struct Case {
    std::string path;
    weftStatusCode code;
    std::string message;
    bool prefixOnly;
  };
  const Case cases[] = {
      {"/nonexistent/model.weft", WEFT_STATUS_NOT_FOUND,
       "/nonexistent/model.weft: cannot open: No such file or directory",
       false},
      {text, WEFT_STATUS_INVALID_FORMAT, text + ": cannot load: ", true},
      {fakeArtifactPath("broken-no-manifest"), WEFT_STATUS_INVALID_FORMAT,
       fakeArtifactPath("broken-no-manifest") +
           ": not a weft artifact (no weft_manifest symbol)",
       false},
      {fakeArtifactPath("broken-missing-symbol"), WEFT_STATUS_INVALID_FORMAT,
       fakeArtifactPath("broken-missing-symbol") +
           ": function 'f': symbol '_weft_entry_missing' not found",
       false},
      {fakeArtifactPath("broken-bad-manifest"), WEFT_STATUS_INVALID_FORMAT,
       fakeArtifactPath("broken-bad-manifest") +
           ": invalid manifest: function 'f': input 0: unknown dtype 'f8'",
       false},
  };
  for (const Case &c : cases) {
    weftArtifact artifact = nullptr;
    StatusInfo status = consume(weftArtifactOpen(c.path.c_str(), &artifact));
    EXPECT_EQ(status.code, c.code) << c.path;
    if (c.prefixOnly)
      EXPECT_EQ(status.message.substr(0, c.message.size()), c.message);
    else
      EXPECT_EQ(status.message, c.message);
    EXPECT_EQ(artifact, nullptr);
  }
}

TEST(ArtifactOpenTest, NameWithoutSlashIsAFileNotALibrarySearch) {
  char previous[4096];
  ASSERT_NE(getcwd(previous, sizeof(previous)), nullptr);
  ASSERT_EQ(chdir(WEFT_FAKE_ARTIFACT_DIR), 0);
  weftArtifact artifact = nullptr;
  StatusInfo status =
      consume(weftArtifactOpen("fake-artifact.weft", &artifact));
  EXPECT_EQ(chdir(previous), 0);
  ASSERT_EQ(status.code, WEFT_STATUS_OK) << status.message;
  EXPECT_EQ(weftArtifactGetNumFunctions(artifact), 9u);
  weftArtifactRelease(artifact);
}

} // namespace

//===- ManifestTest.cpp - tests of manifest parsing and validation --------===//

#include "Manifest.h"

#include "TestUtils.h"

#include "gtest/gtest.h"

using namespace weft::runtime;
using namespace weft::runtime::testing;

namespace {

// The example of docs/Runtime.md.
constexpr const char *kExample = R"({"format": "weft-artifact", "version": 1,
  "target": "cpu",
  "functions": [
    {"name": "forward", "symbol": "_weft_entry_forward",
     "inputs":  [{"dtype": "i64", "shape": [-1, -1]}],
     "params":  [{"name": "model.embed_tokens.weight", "dtype": "f32",
                  "shape": [256, 64]},
                 {"name": "q", "dtype": "i4", "shape": [8, 5]}],
     "results": [{"dtype": "f32", "shape": [-1, -1, 256]}]},
    {"name": "empty", "symbol": "e", "inputs": [], "params": [],
     "results": [{"dtype": "bf16", "shape": []}]}]})";

TEST(ManifestTest, ParsesTheExample) {
  Manifest manifest;
  ASSERT_WEFT_OK(parseManifest(kExample, manifest));
  EXPECT_EQ(manifest.target, "cpu");
  ASSERT_EQ(manifest.functions.size(), 2u);

  const FunctionSig &forward = manifest.functions[0];
  EXPECT_EQ(forward.name, "forward");
  EXPECT_EQ(forward.symbol, "_weft_entry_forward");
  ASSERT_EQ(forward.inputs.size(), 1u);
  EXPECT_EQ(forward.inputs[0].dtype, WEFT_DTYPE_I64);
  EXPECT_EQ(forward.inputs[0].shape, (std::vector<int64_t>{-1, -1}));
  ASSERT_EQ(forward.params.size(), 2u);
  EXPECT_EQ(forward.params[0].name, "model.embed_tokens.weight");
  EXPECT_EQ(forward.params[0].dtype, WEFT_DTYPE_F32);
  EXPECT_EQ(forward.params[0].shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(forward.params[1].dtype, WEFT_DTYPE_I4);
  ASSERT_EQ(forward.results.size(), 1u);
  EXPECT_EQ(forward.results[0].shape, (std::vector<int64_t>{-1, -1, 256}));

  const FunctionSig &empty = manifest.functions[1];
  EXPECT_TRUE(empty.inputs.empty());
  EXPECT_TRUE(empty.params.empty());
  ASSERT_EQ(empty.results.size(), 1u);
  EXPECT_EQ(empty.results[0].dtype, WEFT_DTYPE_BF16);
  EXPECT_TRUE(empty.results[0].shape.empty());
}

TEST(ManifestTest, AcceptsEveryDType) {
  for (const char *dtype :
       {"f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "i1"}) {
    std::string text = std::string(R"({"format": "weft-artifact", "version": 1,
        "target": "cpu", "functions": [{"name": "f", "symbol": "f",
        "inputs": [{"dtype": ")") +
                       dtype +
                       R"(", "shape": [2]}], "params": [], "results": []}]})";
    Manifest manifest;
    ASSERT_WEFT_OK(parseManifest(text, manifest));
    EXPECT_STREQ(weftDTypeGetName(manifest.functions[0].inputs[0].dtype),
                 dtype);
  }
}

TEST(ManifestTest, ReadsSharedDimSymbols) {
  Manifest manifest;
  ASSERT_WEFT_OK(parseManifest(
      R"({"format": "weft-artifact", "version": 1, "target": "cpu",
          "functions": [{"name": "f", "symbol": "s", "params": [],
          "results": [], "inputs": [
            {"dtype": "f32", "shape": [-1, 4], "dim_symbols": ["s0", null]},
            {"dtype": "i64", "shape": [-1]}]}]})",
      manifest));
  const FunctionSig &function = manifest.functions.at(0);
  EXPECT_EQ(function.inputs[0].dimSymbols,
            (std::vector<std::string>{"s0", ""}));
  EXPECT_TRUE(function.inputs[1].dimSymbols.empty());
}

/// A manifest with one function whose parts are spliced in.
std::string oneFunction(const std::string &function) {
  return R"({"format": "weft-artifact", "version": 1, "target": "cpu",
            "functions": [)" +
         function + "]}";
}

struct InvalidCase {
  std::string text;
  std::string message;
};

TEST(ManifestTest, RejectsInvalidManifests) {
  const std::string ok = R"("inputs": [], "params": [], "results": [])";
  const InvalidCase cases[] = {
      {"{", "invalid manifest: not valid JSON (offset 1: expected a string "
            "key)"},
      {"[]", "invalid manifest: the top level must be an object"},
      {R"({"version": 1, "target": "cpu", "functions": []})",
       "invalid manifest: missing key 'format'"},
      {R"({"format": "other", "version": 1})",
       "invalid manifest: format is 'other', expected 'weft-artifact'"},
      {R"({"format": "weft-artifact", "version": 2})",
       "invalid manifest: unsupported version 2 (this runtime reads version "
       "1)"},
      {R"({"format": "weft-artifact", "version": "1"})",
       "invalid manifest: 'version' must be an integer, got a string"},
      {R"({"format": "weft-artifact", "version": 1, "target": "rocm"})",
       "invalid manifest: unsupported target 'rocm' (this runtime runs "
       "'cpu' and 'cuda')"},
      {R"({"format": "weft-artifact", "version": 1, "target": "cpu",
           "functions": []})",
       "invalid manifest: no functions"},
      {oneFunction(R"([])"), "invalid manifest: function 0: must be an object"},
      {oneFunction(R"({"symbol": "s", )" + ok + "}"),
       "invalid manifest: function 0: missing key 'name'"},
      {oneFunction(R"({"name": "", "symbol": "s", )" + ok + "}"),
       "invalid manifest: function 0: empty name"},
      {oneFunction(R"({"name": "f", )" + ok + "}"),
       "invalid manifest: function 'f': missing key 'symbol'"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": [],
                       "params": []})"),
       "invalid manifest: function 'f': missing key 'results'"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": {},
                       "params": [], "results": []})"),
       "invalid manifest: function 'f': 'inputs' must be an array, got an "
       "object"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f8",
                       "shape": [1]}]})"),
       "invalid manifest: function 'f': input 0: unknown dtype 'f8'"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f32"}]})"),
       "invalid manifest: function 'f': input 0: missing key 'shape'"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f32",
                       "shape": [2, -2]}]})"),
       "invalid manifest: function 'f': input 0: shape dims must be integers "
       ">= 0 or -1"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f32",
                       "shape": [2.5]}]})"),
       "invalid manifest: function 'f': input 0: shape dims must be integers "
       ">= 0 or -1"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "inputs": [], "results": [{"dtype": "i4",
                       "shape": [2]}]})"),
       "invalid manifest: function 'f': result 0: i4 is only allowed for "
       "params"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f32",
                       "shape": [2], "range": [0, 4]}]})"),
       "invalid manifest: function 'f': input 0: \"range\" must be [begin, "
       "end] with begin <= end, on an integer input"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "i64",
                       "shape": [2], "range": [4, 0]}]})"),
       "invalid manifest: function 'f': input 0: \"range\" must be [begin, "
       "end] with begin <= end, on an integer input"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": [],
                       "results": [], "params": [{"dtype": "f32",
                       "shape": [2]}]})"),
       "invalid manifest: function 'f': param 0: missing key 'name'"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": [],
                       "results": [], "params": [{"name": "w",
                       "dtype": "f32", "shape": [-1, 2]}]})"),
       "invalid manifest: function 'f': param 0: params must have a static "
       "shape, got f32[?, 2]"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": [],
                       "results": [], "params": [{"name": "w",
                       "dtype": "i4", "shape": []}]})"),
       "invalid manifest: function 'f': param 0: i4 params must have rank >= "
       "1"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": [],
                       "results": [], "params": [{"name": "w",
                       "dtype": "f32", "shape": [4611686018427387904, 4]}]})"),
       "invalid manifest: function 'f': param 0: size of "
       "f32[4611686018427387904, 4] overflows"},
      {oneFunction(R"({"name": "f", "symbol": "s", "inputs": [],
                       "results": [], "params": [
                       {"name": "w", "dtype": "f32", "shape": [2]},
                       {"name": "w", "dtype": "f32", "shape": [2]}]})"),
       "invalid manifest: function 'f': duplicate param 'w'"},
      {R"({"format": "weft-artifact", "version": 1, "target": "cpu",
           "functions": [{"name": "f", "symbol": "a", )" +
           ok + R"(}, {"name": "f", "symbol": "b", )" + ok + "}]}",
       "invalid manifest: duplicate function 'f'"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f32",
                       "shape": [-1, 4], "dim_symbols": ["s0", "s1"]}]})"),
       "invalid manifest: function 'f': input 0: \"dim_symbols\" must give, "
       "on an input, a name or null per dim, names only for dynamic dims"},
      {oneFunction(R"({"name": "f", "symbol": "s", "params": [],
                       "results": [], "inputs": [{"dtype": "f32",
                       "shape": [-1, 4], "dim_symbols": ["s0"]}]})"),
       "invalid manifest: function 'f': input 0: \"dim_symbols\" must give, "
       "on an input, a name or null per dim, names only for dynamic dims"},
  };
  for (const InvalidCase &c : cases) {
    Manifest manifest;
    StatusInfo status = consume(parseManifest(c.text, manifest));
    EXPECT_EQ(status.code, WEFT_STATUS_INVALID_FORMAT) << c.text;
    EXPECT_EQ(status.message, c.message) << c.text;
  }
}

} // namespace

//===- weft-run.cpp - run a weft artifact on .npy files -------------------===//
//
// Loads an artifact, binds its params, reads inputs from .npy files, calls one
// function and writes the results as .npy files; --bench times the call.
// Uses only the runtime's C API, like any other client.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "weft-runtime/Runtime.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace weft::run;

namespace {

constexpr const char *kHelp =
    R"(usage: weft-run ARTIFACT [--function NAME] [--params FILE.safetensors]
                [--input FILE.npy]... [--output-dir DIR] [--bench N]
       weft-run ARTIFACT --list

Runs a function of a weft artifact (the shared object weft-compile makes) on
.npy inputs and writes its results as .npy files.

options:
  --function NAME     the function to run; optional when the artifact has one
  --params FILE       the safetensors archive the function's params are bound
                      from (required when the function has params)
  --input FILE.npy    one per function input, in order
  --output-dir DIR    write result i to DIR/out<i>.npy (DIR is created)
  --bench N           after one warm-up call, time N more calls and print
                      "median_ms=<milliseconds> runs=<N>"; for a cuda
                      artifact, also time calls whose inputs are already
                      in device (unified) memory and add
                      "device_inputs_median_ms=<milliseconds>", and their
                      GPU time by CUDA events (first to last kernel),
                      "gpu_median_ms=<milliseconds>"
  --list              print the functions of the artifact and exit
  --help              print this help

.npy files: format 1.0, 2.0 or 3.0, little-endian, C order, with the dtypes
f64 '<f8', f32 '<f4', f16 '<f2', i64 '<i8', i32 '<i4', i16 '<i2', i8 '|i1',
u8 '|u1' and i1 '|b1' (bool). numpy has no bfloat16: a bf16 input is read from
a '<u2' (or 'V2') array of raw bfloat16 bit patterns, and bf16 results are
written as '<u2' arrays of bit patterns
(numpy: (words.astype('<u4') << 16).view('<f4') gives the f32 values).

Each result's type is printed as "result <i>: <dtype>[<dims>]".

exit status: 0 on success; 1 when the artifact, params, inputs or the call
fail (one line on stderr names the problem); 2 for usage errors.
)";

struct Options {
  std::string artifact;
  std::string function;
  std::string params;
  std::vector<std::string> inputs;
  std::string outputDir;
  int64_t bench = 0;
  bool list = false;
};

/// Reports an error on one line and exits: 1 for bad data, 2 for usage.
[[noreturn]] void fail(const std::string &message, int status = 1) {
  std::fprintf(stderr, "weft-run: error: %s%s\n", message.c_str(),
               status == 2 ? " (see weft-run --help)" : "");
  std::exit(status);
}

[[noreturn]] void usageError(const std::string &message) { fail(message, 2); }

/// Exits with the status's message when it is an error.
void check(weftStatus status, const std::string &context = "") {
  if (!status)
    return;
  std::string message = weftStatusGetMessage(status);
  weftStatusRelease(status);
  fail(context.empty() ? message : context + ": " + message);
}

std::string formatType(weftDType dtype, const int64_t *shape, size_t rank) {
  std::string out = weftDTypeGetName(dtype);
  out += "[";
  for (size_t i = 0; i < rank; ++i) {
    out += i ? ", " : "";
    out += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return out + "]";
}

std::string formatSpec(const weftTensorSpec &spec) {
  return formatType(spec.dtype, spec.shape, spec.rank);
}

Options parseOptions(int argc, char **argv) {
  Options options;
  bool benchSeen = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    }
    if (arg == "--list") {
      options.list = true;
      continue;
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (!options.artifact.empty())
        usageError("unexpected argument '" + arg + "'");
      options.artifact = arg;
      continue;
    }
    // --name VALUE or --name=VALUE.
    std::string name = arg, value;
    size_t equals = arg.find('=');
    if (equals != std::string::npos) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    } else if (name == "--function" || name == "--params" ||
               name == "--input" || name == "--output-dir" ||
               name == "--bench") {
      if (i + 1 >= argc)
        usageError(name + " expects a value");
      value = argv[++i];
    }
    auto once = [&](std::string &slot) {
      if (!slot.empty())
        usageError(name + " given twice");
      if (value.empty())
        usageError(name + " expects a value");
      slot = value;
    };
    if (name == "--function") {
      once(options.function);
    } else if (name == "--params") {
      once(options.params);
    } else if (name == "--output-dir") {
      once(options.outputDir);
    } else if (name == "--input") {
      if (value.empty())
        usageError("--input expects a value");
      options.inputs.push_back(value);
    } else if (name == "--bench") {
      if (benchSeen)
        usageError("--bench given twice");
      benchSeen = true;
      auto [end, ec] = std::from_chars(
          value.data(), value.data() + value.size(), options.bench);
      if (ec != std::errc() || end != value.data() + value.size() ||
          options.bench < 1)
        usageError("--bench expects a positive integer, got '" + value + "'");
    } else {
      usageError("unknown option '" + name + "'");
    }
  }
  if (options.artifact.empty())
    usageError("missing ARTIFACT");
  return options;
}

void listFunctions(weftArtifact artifact) {
  for (size_t f = 0; f < weftArtifactGetNumFunctions(artifact); ++f) {
    weftFunction function = weftArtifactGetFunction(artifact, f);
    weftTensorSpec spec;
    std::string line = std::string(weftFunctionGetName(function)) + ": (";
    for (size_t i = 0; i < weftFunctionGetNumInputs(function); ++i) {
      check(weftFunctionGetInputSpec(function, i, &spec));
      line += (i ? ", " : "") + formatSpec(spec);
    }
    line += ") -> (";
    for (size_t i = 0; i < weftFunctionGetNumResults(function); ++i) {
      check(weftFunctionGetResultSpec(function, i, &spec));
      line += (i ? ", " : "") + formatSpec(spec);
    }
    std::printf("%s)\n", line.c_str());
    for (size_t i = 0; i < weftFunctionGetNumParams(function); ++i) {
      check(weftFunctionGetParamSpec(function, i, &spec));
      std::printf("  param %s: %s\n", spec.name, formatSpec(spec).c_str());
    }
  }
}

weftFunction selectFunction(weftArtifact artifact, const Options &options) {
  weftFunction function = nullptr;
  if (!options.function.empty()) {
    check(weftArtifactFindFunction(artifact, options.function.c_str(),
                                   &function));
    return function;
  }
  size_t count = weftArtifactGetNumFunctions(artifact);
  if (count == 1)
    return weftArtifactGetFunction(artifact, 0);
  std::string names;
  for (size_t i = 0; i < count; ++i)
    names += std::string(i ? ", " : "") +
             weftFunctionGetName(weftArtifactGetFunction(artifact, i));
  fail(options.artifact + " has " + std::to_string(count) +
       " functions, choose one with --function: " + names);
}

std::string plural(size_t count, const char *noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

void releaseAll(std::vector<weftTensor> &tensors) {
  for (weftTensor &tensor : tensors) {
    weftTensorRelease(tensor);
    tensor = nullptr;
  }
}

void writeOutputs(const std::string &dir, std::vector<weftTensor> &outputs) {
  if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST)
    fail("cannot create output directory " + dir + ": " + std::strerror(errno));
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = dir + "/out" + std::to_string(i) + ".npy";
    std::string error;
    if (!writeNpy(path, outputs[i], error))
      fail(path + ": " + error);
  }
}

/// Times `runs` calls and returns the median in milliseconds: wall time
/// around each call, or with `deviceTime` the GPU time weftCallTimed
/// measures.
double medianCallMs(weftFunction function,
                    const std::vector<weftTensor> &inputs,
                    std::vector<weftTensor> &outputs, int64_t runs,
                    bool deviceTime = false) {
  std::vector<double> times;
  for (int64_t run = 0; run < runs; ++run) {
    double deviceMs = 0;
    auto start = std::chrono::steady_clock::now();
    weftStatus status =
        deviceTime ? weftCallTimed(function, inputs.data(), inputs.size(),
                                   outputs.data(), outputs.size(), &deviceMs)
                   : weftCall(function, inputs.data(), inputs.size(),
                              outputs.data(), outputs.size());
    auto end = std::chrono::steady_clock::now();
    check(status);
    releaseAll(outputs);
    times.push_back(
        deviceTime
            ? deviceMs
            : std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(times.begin(), times.end());
  size_t mid = times.size() / 2;
  return times.size() % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

/// One warm-up call has been made; times `runs` more and prints the median.
/// On the GPU, inputs that stay on the device between calls (a KV cache)
/// skip the copy into unified memory: that is timed too, after a warm-up.
void bench(weftFunction function, bool cuda,
           const std::vector<weftTensor> &inputs,
           std::vector<weftTensor> &outputs, int64_t runs) {
  std::printf("median_ms=%.3f runs=%lld",
              medianCallMs(function, inputs, outputs, runs),
              static_cast<long long>(runs));
  if (cuda) {
    std::vector<weftTensor> deviceInputs(inputs.size(), nullptr);
    for (size_t i = 0; i < inputs.size(); ++i)
      check(weftTensorCreateIn(WEFT_MEMORY_CUDA, weftTensorGetDType(inputs[i]),
                               weftTensorGetShape(inputs[i]),
                               weftTensorGetRank(inputs[i]),
                               weftTensorGetData(inputs[i]), &deviceInputs[i]));
    medianCallMs(function, deviceInputs, outputs, 1);
    std::printf(" device_inputs_median_ms=%.3f",
                medianCallMs(function, deviceInputs, outputs, runs));
    std::printf(" gpu_median_ms=%.4f",
                medianCallMs(function, deviceInputs, outputs, runs,
                             /*deviceTime=*/true));
    releaseAll(deviceInputs);
  }
  std::printf("\n");
}

} // namespace

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);

  weftArtifact artifact = nullptr;
  check(weftArtifactOpen(options.artifact.c_str(), &artifact));
  if (options.list) {
    listFunctions(artifact);
    weftArtifactRelease(artifact);
    return 0;
  }
  weftFunction function = selectFunction(artifact, options);
  std::string name = weftFunctionGetName(function);

  size_t numParams = weftFunctionGetNumParams(function);
  if (numParams && options.params.empty())
    fail("function '" + name + "' has " + plural(numParams, "param") +
         ": pass --params FILE.safetensors");
  if (!options.params.empty()) {
    weftParams params = nullptr;
    check(weftParamsOpen(options.params.c_str(), &params));
    check(weftFunctionBindParams(function, params));
    weftParamsRelease(params);
  }

  size_t numInputs = weftFunctionGetNumInputs(function);
  if (options.inputs.size() != numInputs)
    fail("function '" + name + "' expects " + plural(numInputs, "input") +
         ", got " + std::to_string(options.inputs.size()));
  std::vector<weftTensor> inputs(numInputs, nullptr);
  for (size_t i = 0; i < numInputs; ++i) {
    std::string context =
        "input " + std::to_string(i) + " (" + options.inputs[i] + ")";
    weftTensorSpec spec;
    check(weftFunctionGetInputSpec(function, i, &spec));
    std::string error;
    if (!readNpy(options.inputs[i], spec.dtype, inputs[i], error))
      fail(context + ": " + error);
    check(weftFunctionCheckInput(function, i, inputs[i]), context);
  }

  std::vector<weftTensor> outputs(weftFunctionGetNumResults(function), nullptr);
  check(weftCall(function, inputs.data(), inputs.size(), outputs.data(),
                 outputs.size()));
  for (size_t i = 0; i < outputs.size(); ++i)
    std::printf("result %zu: %s\n", i,
                formatType(weftTensorGetDType(outputs[i]),
                           weftTensorGetShape(outputs[i]),
                           weftTensorGetRank(outputs[i]))
                    .c_str());
  if (!options.outputDir.empty())
    writeOutputs(options.outputDir, outputs);
  releaseAll(outputs);
  if (options.bench)
    bench(function, std::string(weftArtifactGetTarget(artifact)) == "cuda",
          inputs, outputs, options.bench);

  releaseAll(inputs);
  weftArtifactRelease(artifact);
  return 0;
}

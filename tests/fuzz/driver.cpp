// The in-process fuzzing driver of the normal (g++) build: a main() for a
// target that defines libFuzzer's LLVMFuzzerTestOneInput. It replays the
// target's corpus, then feeds it mutants of the corpus (bit flips, insertions,
// erasures, splices, repeated nesting, huge numbers, bytes that are not
// UTF-8) for a time budget, from a fixed seed. No coverage feedback: that is
// what the libFuzzer build (-DMANTLE_FUZZ=ON with clang) adds.
//
// Flags follow libFuzzer's, so one command line works for both builds:
//   <target> [-max_total_time=S] [-seed=N] [-max_len=B] [-timeout=S]
//            [-runs=N] [-artifact_prefix=DIR/] CORPUS_DIR... | INPUT_FILE...
// With files only, each is run once (to reproduce a crash) and nothing else.
// A crash (signal, uncaught exception, abort) or an input running longer than
// -timeout writes the input to <artifact_prefix>crash-<hash> (timeout-<hash>)
// and fails the process.
#include <signal.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

struct Options {
  double maxTotalTime = 5;
  std::uint64_t seed = 1;
  std::size_t maxLen = 256 * 1024;
  double timeout = 20;
  std::int64_t runs = -1;
  std::string artifactPrefix = "./";
  std::vector<std::string> paths;
};

// ---------------------------------------------------------------------------
// What is running now, for the crash and timeout reports. Written before each
// input; read from a signal handler or the watchdog thread.

const char* currentData = nullptr;
std::size_t currentSize = 0;
std::atomic<std::uint64_t> executions{0};
char artifactPrefix[4096] = "./";

std::uint64_t fnv1a(const char* data, std::size_t size) {
  std::uint64_t hash = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) {
    hash = (hash ^ static_cast<unsigned char>(data[i])) * 1099511628211ull;
  }
  return hash;
}

void writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void writeText(int fd, const char* text) {
  writeAll(fd, text, std::strlen(text));
}

// Async-signal-safe: no allocation, no stdio.
void saveCurrentInput(const char* kind) {
  char path[4200];
  char hash[17];
  std::uint64_t h = fnv1a(currentData, currentSize);
  for (int i = 15; i >= 0; --i) {
    hash[i] = "0123456789abcdef"[h & 0xf];
    h >>= 4;
  }
  hash[16] = '\0';
  path[0] = '\0';
  std::strncat(path, artifactPrefix, sizeof(path) - 1);
  std::strncat(path, kind, sizeof(path) - std::strlen(path) - 1);
  std::strncat(path, "-", sizeof(path) - std::strlen(path) - 1);
  std::strncat(path, hash, sizeof(path) - std::strlen(path) - 1);
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    writeAll(fd, currentData, currentSize);
    ::close(fd);
  }
  writeText(2, "==fuzz== ");
  writeText(2, kind);
  writeText(2, ": input written to ");
  writeText(2, path);
  writeText(2, "\n");
}

void onCrash(int signal) {
  writeText(2, "==fuzz== deadly signal ");
  writeText(2, strsignal(signal));
  writeText(2, "\n");
  if (currentData != nullptr) saveCurrentInput("crash");
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void installCrashHandlers() {
  // Stack overflows need a stack of their own to report on.
  static std::vector<char> altStack(1 << 16);
  stack_t stack{};
  stack.ss_sp = altStack.data();
  stack.ss_size = altStack.size();
  ::sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_handler = onCrash;
  action.sa_flags = SA_ONSTACK;
  for (int signal : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::sigaction(signal, &action, nullptr);
}

// Aborts the run when one input takes longer than `seconds`.
void startWatchdog(double seconds) {
  std::thread([seconds] {
    std::uint64_t seen = executions.load();
    auto since = std::chrono::steady_clock::now();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::uint64_t now = executions.load();
      if (now != seen) {
        seen = now;
        since = std::chrono::steady_clock::now();
      } else if (currentData != nullptr &&
                 std::chrono::steady_clock::now() - since > std::chrono::duration<double>(seconds)) {
        writeText(2, "==fuzz== an input ran longer than -timeout\n");
        saveCurrentInput("timeout");
        std::_Exit(70);
      }
    }
  }).detach();
}

void runOne(const Bytes& input) {
  currentData = input.data();
  currentSize = input.size();
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  executions.fetch_add(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// Mutations.

// Tokens worth inserting into any of our parsers' inputs: JSON syntax, the
// numbers and strings at the edges of every numeric type, escapes and bytes
// that are not UTF-8, and the separators of the text formats.
const std::vector<std::string_view> kTokens = {"{",
                                               "}",
                                               "[",
                                               "]",
                                               "\"",
                                               ":",
                                               ",",
                                               "null",
                                               "true",
                                               "false",
                                               "-",
                                               "0",
                                               "1.5",
                                               "1e999",
                                               "-1e999",
                                               "1e-999",
                                               "18446744073709551615",
                                               "18446744073709551616",
                                               "-9223372036854775808",
                                               "-9223372036854775809",
                                               "9223372036854775807",
                                               "4294967296",
                                               "2147483648",
                                               "-2147483649",
                                               "99999999999999999999999999999999",
                                               "\"NaN\"",
                                               "\"Infinity\"",
                                               "\"-Infinity\"",
                                               "NaN",
                                               "Infinity",
                                               "0x10",
                                               "1e308",
                                               "-0",
                                               ".5",
                                               "00",
                                               "\\u0000",
                                               "\\ud800",
                                               "\\udc00",
                                               "\\ud83d\\ude80",
                                               "\\",
                                               "\xff",
                                               "\xc0\xaf",
                                               "\xed\xa0\x80",
                                               "\xf4\x90\x80\x80",
                                               "\xe2\x82",
                                               std::string_view("\0", 1),
                                               "\n",
                                               "\r\n",
                                               "\t",
                                               " ",
                                               ";",
                                               "(",
                                               ")",
                                               "=",
                                               "--",
                                               "*",
                                               "/",
                                               "%",
                                               "\"\":",
                                               "{\"\":",
                                               "[[",
                                               "]]",
                                               "secs",
                                               "ms",
                                               "weeks",
                                               "GB",
                                               "TB",
                                               "file://",
                                               ".."};

// Byte patterns that nest when repeated: JSON arrays and objects, protobuf
// groups and length-delimited fields, parentheses.
const std::vector<std::string_view> kNesting = {"[",        "{\"a\":", "[{\"a\":", "\xa3\x06",
                                                "\x0a\x7f", "(",       "{",        "\"a\":{"};

class Mutator {
 public:
  Mutator(std::uint64_t seed, std::size_t maxLen) : random_(seed), maxLen_(maxLen) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(random_() % n); }
  bool oneIn(std::size_t n) { return below(n) == 0; }

  Bytes mutate(Bytes input, const std::vector<Bytes>& pool) {
    std::size_t count = 1 + below(4);
    for (std::size_t i = 0; i < count; ++i) mutateOnce(input, pool);
    if (input.size() > maxLen_) input.resize(maxLen_);
    return input;
  }

 private:
  void mutateOnce(Bytes& input, const std::vector<Bytes>& pool) {
    std::size_t at = below(input.size() + 1);
    switch (below(11)) {
      case 0:  // flip a bit
        if (!input.empty()) input[below(input.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1: {  // an interesting byte
        static constexpr char kBytes[] = {'\0', '\x7f', '\x80', '\xff', '\n', '"', '\\', '[', '{', '0', '9', ':'};
        if (!input.empty()) input[below(input.size())] = kBytes[below(sizeof(kBytes))];
        break;
      }
      case 2: {  // random bytes
        std::size_t n = 1 + below(8);
        for (std::size_t i = 0; i < n; ++i)
          input.insert(input.begin() + static_cast<long>(at), static_cast<char>(random_()));
        break;
      }
      case 3:  // erase a range
        if (!input.empty()) {
          std::size_t from = below(input.size());
          input.erase(from, 1 + below(std::min<std::size_t>(input.size() - from, 64)));
        }
        break;
      case 4:  // copy a range elsewhere
        if (!input.empty()) {
          std::size_t from = below(input.size());
          Bytes piece = input.substr(from, 1 + below(64));
          input.insert(below(input.size() + 1), piece);
        }
        break;
      case 5: {  // splice in a piece of another input
        const Bytes& other = pool[below(pool.size())];
        if (!other.empty()) {
          std::size_t from = below(other.size());
          Bytes piece = other.substr(from, 1 + below(other.size() - from));
          if (oneIn(2) && !input.empty()) {
            input.replace(at == input.size() ? at - 1 : at, below(64), piece);
          } else {
            input.insert(at, piece);
          }
        }
        break;
      }
      case 6:
      case 7:  // a token
        input.insert(at, kTokens[below(kTokens.size())]);
        break;
      case 8: {  // repeated nesting, now and then very deep
        std::string_view unit = kNesting[below(kNesting.size())];
        std::size_t times = oneIn(8) ? 20000 + below(100000) : 1 + below(300);
        Bytes nest;
        for (std::size_t i = 0; i < times && nest.size() < maxLen_; ++i) nest.append(unit);
        input.insert(at, nest);
        break;
      }
      case 9: {  // a run of digits becomes a huge or negative number
        std::size_t digit = input.find_first_of("0123456789", below(input.size() + 1));
        if (digit == Bytes::npos) digit = input.find_first_of("0123456789");
        if (digit == Bytes::npos) {
          input.insert(at, "-99999999999999999999");
          break;
        }
        std::size_t end = input.find_first_not_of("0123456789.eE+-", digit);
        static constexpr std::string_view kNumbers[] = {"99999999999999999999999999",
                                                        "-1",
                                                        "-9223372036854775809",
                                                        "1e999",
                                                        "18446744073709551616",
                                                        "0.0000001",
                                                        "4294967295"};
        input.replace(digit, end == Bytes::npos ? Bytes::npos : end - digit, kNumbers[below(std::size(kNumbers))]);
        break;
      }
      case 10:  // truncate
        if (!input.empty()) input.resize(below(input.size()));
        break;
    }
  }

  std::mt19937_64 random_;
  std::size_t maxLen_;
};

// ---------------------------------------------------------------------------

bool readFile(const fs::path& path, Bytes* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

Options parseOptions(int argc, char** argv) {
  Options options;
  if (const char* seconds = std::getenv("MANTLE_FUZZ_SECONDS")) options.maxTotalTime = std::atof(seconds);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> const char* {
      return arg.substr(0, flag.size()) == flag ? argv[i] + flag.size() : nullptr;
    };
    if (const char* v = value("-max_total_time=")) {
      if (std::getenv("MANTLE_FUZZ_SECONDS") == nullptr) options.maxTotalTime = std::atof(v);
    } else if (const char* v = value("-seed=")) {
      options.seed = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("-max_len=")) {
      options.maxLen = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("-timeout=")) {
      options.timeout = std::atof(v);
    } else if (const char* v = value("-runs=")) {
      options.runs = std::strtoll(v, nullptr, 10);
    } else if (const char* v = value("-artifact_prefix=")) {
      options.artifactPrefix = v;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "==fuzz== ignoring flag %s (libFuzzer's only)\n", argv[i]);
    } else {
      options.paths.emplace_back(arg);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parseOptions(argc, argv);
  std::snprintf(artifactPrefix, sizeof(artifactPrefix), "%s", options.artifactPrefix.c_str());
  installCrashHandlers();
  startWatchdog(options.timeout);

  std::vector<Bytes> corpus;
  bool anyDirectory = false;
  for (const std::string& path : options.paths) {
    if (fs::is_directory(path)) {
      anyDirectory = true;
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& file : files) {
        Bytes bytes;
        if (readFile(file, &bytes)) corpus.push_back(std::move(bytes));
      }
    } else {
      Bytes bytes;
      if (!readFile(path, &bytes)) {
        std::fprintf(stderr, "==fuzz== cannot read %s\n", path.c_str());
        return 2;
      }
      corpus.push_back(std::move(bytes));
    }
  }
  if (corpus.empty()) corpus.emplace_back();

  for (const Bytes& input : corpus) runOne(input);
  std::fprintf(stderr, "==fuzz== %s: replayed %zu corpus inputs\n", argv[0], corpus.size());
  if (!anyDirectory) return 0;

  // Mutants of the corpus and of recent mutants (a small pool, so mutations
  // stack across generations without coverage to guide them).
  Mutator mutator(options.seed, options.maxLen);
  std::vector<Bytes> pool = corpus;
  const std::size_t poolLimit = corpus.size() + 64;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(options.maxTotalTime));
  std::uint64_t mutants = 0;
  while ((options.runs < 0 || static_cast<std::int64_t>(mutants) < options.runs) &&
         (options.runs >= 0 || std::chrono::steady_clock::now() < deadline)) {
    Bytes input = mutator.mutate(pool[mutator.below(pool.size())], pool);
    runOne(input);
    ++mutants;
    if (mutator.oneIn(4)) {
      if (pool.size() < poolLimit) {
        pool.push_back(std::move(input));
      } else {
        pool[corpus.size() + mutator.below(poolLimit - corpus.size())] = std::move(input);
      }
    }
  }
  currentData = nullptr;
  std::fprintf(stderr, "==fuzz== %s: %" PRIu64 " mutated inputs, seed %" PRIu64 ", no crash\n", argv[0], mutants,
               options.seed);
  return 0;
}

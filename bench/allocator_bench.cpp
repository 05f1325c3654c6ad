// Allocator benchmarks mirroring Mesos' hierarchical allocator benchmarks.
// Each drives the DRF module through the host's Registry/Instance (the real
// ABI path: protobuf encoding, the boundary crossing, decoding of the offers)
// and, separately, the same scenario on the allocation engine linked in
// directly (the in-module cost, without encoding). Next to each figure it
// prints the ratio to a plain heap-based DRF allocator driven through the same
// requests in the same run (reference_drf.hpp).
#include <benchmark/benchmark.h>
#include <google/protobuf/arena.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine.hpp"
#include "mantle/modules/conformance/allocator_driver.hpp"
#include "reference_drf.hpp"

namespace mantle::bench {
namespace {

namespace v1 = ::mantle::module::v1;
namespace eng = ::mantle::allocator_engine;
using modules::conformance::AllocatorDriver;
using modules::conformance::parseResources;
using Clock = std::chrono::steady_clock;

// Bulk messages live on an arena whose first block is kept and grown to the
// largest use, as a long-running host would keep it: building and dropping
// tens of thousands of offers then costs neither frees nor page faults.
class ReusableArena {
 public:
  // Drops the current arena and everything on it.
  void release() {
    if (!arena_) return;
    std::size_t used = static_cast<std::size_t>(arena_->SpaceAllocated());
    arena_.reset();
    if (used > block_.size()) block_.assign(used + used / 4, 0);
  }
  // A fresh arena; the previous one (and everything on it) is gone.
  google::protobuf::Arena* fresh() {
    release();
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 * 1024;
    options.max_block_size = 8 * 1024 * 1024;
    options.initial_block = block_.empty() ? nullptr : block_.data();
    options.initial_block_size = block_.size();
    arena_ = std::make_unique<google::protobuf::Arena>(options);
    return arena_.get();
  }

 private:
  std::vector<char> block_;
  std::unique_ptr<google::protobuf::Arena> arena_;
};

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double threadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// Wall time and this thread's CPU time of a timed section. On a shared,
// loaded machine the wall time also holds the time other processes ran;
// the CPU time does not.
struct Sample {
  double wall = 0;
  double cpu = 0;
};

class Stopwatch {
 public:
  Stopwatch() : wall_(Clock::now()), cpu_(threadCpuMs()) {}
  Sample elapsed() const { return Sample{ms(Clock::now() - wall_), threadCpuMs() - cpu_}; }

 private:
  Clock::time_point wall_;
  double cpu_;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Medians of the wall and of the CPU times, each on its own.
Sample median(const std::vector<Sample>& samples) {
  std::vector<double> wall, cpu;
  for (const Sample& s : samples) {
    wall.push_back(s.wall);
    cpu.push_back(s.cpu);
  }
  return Sample{median(wall), median(cpu)};
}

struct Row {
  std::string name;
  std::string mesos;
  std::string target;
  Sample abi;
  Sample module;
  Sample ref;
};

std::vector<Row>& rows() {
  static std::vector<Row> all;
  return all;
}

void record(benchmark::State& state, Row row) {
  state.counters["abi_ms"] = row.abi.wall;
  state.counters["module_ms"] = row.module.wall;
  state.counters["ref_ms"] = row.ref.wall;
  state.counters["abi_x_ref"] = row.ref.wall > 0 ? row.abi.wall / row.ref.wall : 0;
  state.counters["module_x_ref"] = row.ref.wall > 0 ? row.module.wall / row.ref.wall : 0;
  state.counters["abi_cpu_ms"] = row.abi.cpu;
  state.counters["ref_cpu_ms"] = row.ref.cpu;
  for (Row& r : rows()) {
    if (r.name == row.name) {
      r = row;
      return;
    }
  }
  rows().push_back(std::move(row));
}

// ---- three ways to reach an allocator -------------------------------------------

// The DRF module's library: the one built beside this program, or the file
// MANTLE_BENCH_DRF_MODULE names (to compare another build's module through
// the same host code; the "module ms" column is always this build's engine).
std::string moduleFile() {
  const char* other = std::getenv("MANTLE_BENCH_DRF_MODULE");
  if (other != nullptr && *other != '\0') return other;
  return std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_drf.so";
}

// Through the module ABI.
class AbiTarget {
 public:
  // Responses are decoded onto `responses` when given (a host's arena kept
  // from one target to the next), else onto the target's own.
  explicit AbiTarget(ReusableArena* responses = nullptr) : responses_(responses != nullptr ? responses : &own_) {
    auto opened = AllocatorDriver::open(moduleFile(), "drf");
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    driver_ = std::move(*opened);
  }
  void addAgent(const v1::AllocatorAddAgent& r) { check(driver_->addAgent(r)); }
  void addFramework(const v1::AllocatorAddFramework& r) { check(driver_->addFramework(r)); }
  void updateQuota(const v1::AllocatorUpdateQuota& r) {
    auto done = modules::AllocatorClient(driver_->instance()).updateQuota(r);
    if (!done.ok()) throw std::runtime_error(done.error().message);
  }
  void updateWeights(const v1::AllocatorUpdateWeights& r) {
    auto done = modules::AllocatorClient(driver_->instance()).updateWeights(r);
    if (!done.ok()) throw std::runtime_error(done.error().message);
  }
  // Valid until the next call.
  const v1::AllocateResponse& allocate(double now) {
    v1::AllocateRequest request;
    request.set_now_seconds(now);
    auto* response = google::protobuf::Arena::CreateMessage<v1::AllocateResponse>(responses_->fresh());
    check(modules::AllocatorClient(driver_->instance()).allocateInto(request, response));
    return *response;
  }
  void recoverBatch(const v1::AllocatorRecoverResourcesBatch& batch) { check(driver_->recoverBatch(batch)); }

 private:
  static void check(const Status& s) {
    if (!s.ok()) throw std::runtime_error(s.error().message);
  }
  std::unique_ptr<AllocatorDriver> driver_;
  ReusableArena own_;
  ReusableArena* responses_;

 public:
  // Frees the last response outside a timed section.
  void releaseResponse() { responses_->release(); }
  ReusableArena batches;
};

// The engine linked in: what the module itself spends.
class EngineTarget {
 public:
  explicit EngineTarget(ReusableArena* responses = nullptr)
      : engine_(eng::Policy{}, options()), responses_(responses != nullptr ? responses : &own_) {}
  void addAgent(const v1::AllocatorAddAgent& r) { check(engine_.addAgent(r)); }
  void addFramework(const v1::AllocatorAddFramework& r) { check(engine_.addFramework(r)); }
  void updateQuota(const v1::AllocatorUpdateQuota& r) { check(engine_.updateQuota(r)); }
  void updateWeights(const v1::AllocatorUpdateWeights& r) { check(engine_.updateWeights(r)); }
  const v1::AllocateResponse& allocate(double now) {
    auto* response = google::protobuf::Arena::CreateMessage<v1::AllocateResponse>(responses_->fresh());
    engine_.allocate(now, response);
    return *response;
  }
  void recoverBatch(const v1::AllocatorRecoverResourcesBatch& batch) { check(engine_.recoverBatch(batch)); }

 private:
  static eng::Options options() {
    eng::Options o;
    o.minAllocatable = *eng::parseMinAllocatable("cpus:0.01|mem:32");
    return o;
  }
  static void check(const Status& s) {
    if (!s.ok()) throw std::runtime_error(s.error().message);
  }
  eng::Engine engine_;
  ReusableArena own_;
  ReusableArena* responses_;

 public:
  // Frees the last response outside a timed section.
  void releaseResponse() { responses_->release(); }
  ReusableArena batches;
};

// The reference (reference_drf.hpp) behind the same calls: it reads the
// same requests and decline batches, and its offers go onto a reused arena
// as EngineTarget's do.
class ReferenceTarget {
 public:
  explicit ReferenceTarget(ReusableArena* responses = nullptr) : responses_(responses != nullptr ? responses : &own_) {}
  void addAgent(const v1::AllocatorAddAgent& r) { drf_.addAgent(r.agent_info().id().value(), Shape::of(r.total())); }
  void addFramework(const v1::AllocatorAddFramework& r) {
    drf_.addFramework(r.framework_info().id().value(), r.framework_info().roles(0));
  }
  const v1::AllocateResponse& allocate(double now) { return *drf_.allocate(now, responses_->fresh()); }
  void recoverBatch(const v1::AllocatorRecoverResourcesBatch& batch) { drf_.recover(batch); }

 private:
  ReferenceDrf drf_;
  ReusableArena own_;
  ReusableArena* responses_;

 public:
  // Frees the last response outside a timed section.
  void releaseResponse() { responses_->release(); }
  ReusableArena batches;
};

v1::AllocatorAddAgent agentRequest(std::size_t i, const modules::conformance::ResourceList& total) {
  v1::AllocatorAddAgent r;
  r.mutable_agent_info()->mutable_id()->set_value("agent-" + std::to_string(i));
  r.mutable_agent_info()->set_hostname("host-" + std::to_string(i));
  *r.mutable_total() = total;
  return r;
}

v1::AllocatorAddFramework frameworkRequest(const std::string& id, const std::string& role) {
  modules::conformance::FrameworkSpec spec;
  spec.id = id;
  spec.roles = {role};
  return AllocatorDriver::frameworkRequest(spec);
}

v1::AllocatorRecoverResourcesBatch* declineAll(google::protobuf::Arena* arena, const v1::AllocateResponse& response,
                                               double refuse, double now) {
  auto* batch = google::protobuf::Arena::CreateMessage<v1::AllocatorRecoverResourcesBatch>(arena);
  for (const v1::AllocatorOffer& offer : response.offers()) {
    v1::AllocatorRecoverResources* item = batch->add_items();
    *item->mutable_framework_id() = offer.framework_id();
    *item->mutable_agent_id() = offer.agent_id();
    *item->mutable_resources() = offer.resources();
    item->set_refuse_seconds(refuse);
    item->set_now_seconds(now);
  }
  return batch;
}

// One allocation pass of a fresh reference over `agents` agents of `shape`
// and `frameworks` frameworks in one role, named as the benchmarks name
// theirs (the yardstick of the single-cycle benchmarks); median of 7.
Sample referencePassMs(std::size_t agents, const char* shape, std::size_t frameworks) {
  auto total = parseResources(shape);
  ReusableArena responses;
  std::vector<Sample> samples;
  std::size_t sink = 0;
  for (int i = 0; i < 7; ++i) {
    ReferenceTarget t(&responses);
    for (std::size_t a = 0; a < agents; ++a) t.addAgent(agentRequest(a, total));
    for (std::size_t f = 0; f < frameworks; ++f)
      t.addFramework(frameworkRequest("framework-" + std::to_string(f), "role"));
    t.releaseResponse();
    Stopwatch watch;
    sink += static_cast<std::size_t>(t.allocate(1).offers_size());
    samples.push_back(watch.elapsed());
  }
  benchmark::DoNotOptimize(sink);
  return median(samples);
}

// ---- 1. DeclineOffers ------------------------------------------------------------

constexpr std::size_t kDeclineAgents = 10000;
constexpr std::size_t kDeclineFrameworks = 1000;
constexpr int kDeclineRounds = 10;
const char* const kDeclineShape = "cpus:24;mem:4096;disk:4096;ports:[31000-32000]";

template <class Target>
void declineSetup(Target& t) {
  auto total = parseResources(kDeclineShape);
  for (std::size_t i = 0; i < kDeclineAgents; ++i) t.addAgent(agentRequest(i, total));
  for (std::size_t f = 0; f < kDeclineFrameworks; ++f) {
    t.addFramework(frameworkRequest("framework-" + std::to_string(f), "role"));
  }
}

// A round's thread CPU time by phase: the allocation (the previous
// response's arena freed, the cycle, and through the ABI the offers encoded
// and decoded), the decline batch built from the offers (a framework's
// work: the same code for every target), and the batch recovered (through
// the ABI: encoded, crossed, read).
struct RoundSplit {
  double allocate = 0, build = 0, recover = 0;
};

// One round: allocate everything, decline every offer with a long filter.
template <class Target>
std::size_t declineRound(Target& t, int round, RoundSplit* split) {
  double start = threadCpuMs();
  const v1::AllocateResponse& response = t.allocate(round);
  double allocated = threadCpuMs();
  const v1::AllocatorRecoverResourcesBatch* batch = declineAll(t.batches.fresh(), response, 365.0 * 86400, round);
  double built = threadCpuMs();
  t.recoverBatch(*batch);
  *split = RoundSplit{allocated - start, built - allocated, threadCpuMs() - built};
  return static_cast<std::size_t>(response.offers_size());
}

// Medians of each phase of DeclineOffers' rounds, per target.
struct SplitRow {
  std::string target;
  RoundSplit median;
};
std::vector<SplitRow>& declineSplits() {
  static std::vector<SplitRow> all;
  return all;
}

// A target playing rounds of DeclineOffers, with its samples.
template <class Target>
struct DeclinePlayer {
  Target target;
  std::vector<Sample> samples;
  std::vector<RoundSplit> splits;
  DeclinePlayer() { declineSetup(target); }
  std::size_t play(int round) {
    RoundSplit split;
    Stopwatch watch;
    std::size_t offers = declineRound(target, round, &split);
    samples.push_back(watch.elapsed());
    splits.push_back(split);
    return offers;
  }
  SplitRow splitRow(std::string name) const {
    std::vector<double> allocate, build, recover;
    for (const RoundSplit& s : splits) {
      allocate.push_back(s.allocate);
      build.push_back(s.build);
      recover.push_back(s.recover);
    }
    return SplitRow{std::move(name), RoundSplit{median(allocate), median(build), median(recover)}};
  }
};

// The three targets play their rounds interleaved (ABI, engine, reference
// in each iteration), so that a burst of load on the shared machine falls on
// all of them alike. The reference plays the same rounds: its pass skips
// the frameworks whose filters hold an agent, and it recovers the same
// decline batch.
void BM_DeclineOffers(benchmark::State& state) {
  DeclinePlayer<AbiTarget> abi;
  DeclinePlayer<EngineTarget> direct;
  DeclinePlayer<ReferenceTarget> reference;
  int round = 0;
  std::size_t offers = 0;
  for (auto _ : state) {
    offers = abi.play(round);
    state.SetIterationTime(abi.samples.back().wall / 1000.0);
    if (direct.play(round) != offers || reference.play(round) != offers) {
      throw std::runtime_error("the targets made different numbers of offers");
    }
    ++round;
  }
  state.counters["offers_per_round"] = static_cast<double>(offers);
  // The reference's allocation pass alone, on a fresh state: the yardstick
  // of this benchmark before 2026-12-06 (it declined nothing).
  Sample pass = referencePassMs(kDeclineAgents, kDeclineShape, kDeclineFrameworks);
  state.counters["ref_pass_ms"] = pass.wall;
  state.counters["ref_pass_cpu_ms"] = pass.cpu;
  declineSplits() = {abi.splitRow("ABI"), direct.splitRow("module"), reference.splitRow("ref")};
  record(state, Row{"DeclineOffers: 10k agents, 1k frameworks, per round", "1.06 s", "<= 30 ms", median(abi.samples),
                    median(direct.samples), median(reference.samples)});
}
BENCHMARK(BM_DeclineOffers)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(kDeclineRounds);

// ---- 2. LargeAndSmallQuota ------------------------------------------------------

constexpr std::size_t kSmallRoles = 2500;
constexpr std::size_t kLargeRoles = 500;
constexpr std::size_t kQuotaAgents = kSmallRoles / 5 + kLargeRoles * 5;  // 3000

struct QuotaTimes {
  Sample addFrameworks, full, empty, emptyRescan;
  std::size_t offers = 0;
};

template <class Target>
QuotaTimes quotaRun() {
  Target t;
  auto total = parseResources("cpus:2;mem:2048;disk:2048");
  for (std::size_t i = 0; i < kQuotaAgents; ++i) t.addAgent(agentRequest(i, total));
  auto small = parseResources("cpus:1;mem:1024;disk:1024");
  auto large = parseResources("cpus:4;mem:4096;disk:4096");
  std::vector<std::string> roles;
  for (std::size_t i = 0; i < kSmallRoles; ++i) roles.push_back("smallQuotaRole" + std::to_string(i));
  for (std::size_t i = 0; i < kLargeRoles; ++i) roles.push_back("largeQuotaRole" + std::to_string(i));
  for (std::size_t i = 0; i < roles.size(); ++i) {
    v1::AllocatorUpdateQuota q;
    q.set_role(roles[i]);
    *q.mutable_guarantees() = i < kSmallRoles ? small : large;
    t.updateQuota(q);
  }
  std::vector<v1::AllocatorAddFramework> frameworks;
  for (std::size_t i = 0; i < roles.size(); ++i) {
    frameworks.push_back(
        frameworkRequest((i < kSmallRoles ? "framework_small_" : "framework_large_") + std::to_string(i), roles[i]));
  }
  QuotaTimes times;
  {
    Stopwatch watch;
    for (const auto& f : frameworks) t.addFramework(f);
    times.addFrameworks = watch.elapsed();
  }
  {
    Stopwatch watch;
    times.offers = static_cast<std::size_t>(t.allocate(1).offers_size());
    times.full = watch.elapsed();
  }
  t.releaseResponse();
  int emptyOffers = 0;
  {
    Stopwatch watch;
    emptyOffers = t.allocate(2).offers_size();
    times.empty = watch.elapsed();
  }
  if (emptyOffers != 0) throw std::runtime_error("the empty cycle made offers");

  // A weight change forces a rescan of every agent: the empty cycle's cost
  // when the allocator cannot rely on nothing having changed.
  v1::AllocatorUpdateWeights w;
  auto* weight = w.add_weights();
  weight->set_role(roles.front());
  weight->set_weight(1.0);
  t.updateWeights(w);
  t.releaseResponse();
  int rescanOffers = 0;
  {
    Stopwatch watch;
    rescanOffers = t.allocate(3).offers_size();
    times.emptyRescan = watch.elapsed();
  }
  if (rescanOffers != 0) throw std::runtime_error("the rescan cycle made offers");
  return times;
}

std::vector<QuotaTimes>& abiQuotaTimes() {
  static std::vector<QuotaTimes> all;
  return all;
}
std::vector<QuotaTimes>& moduleQuotaTimes() {
  static std::vector<QuotaTimes> all;
  return all;
}

void BM_LargeAndSmallQuota(benchmark::State& state) {
  abiQuotaTimes().clear();
  moduleQuotaTimes().clear();
  for (auto _ : state) {
    QuotaTimes t = quotaRun<AbiTarget>();
    state.SetIterationTime(t.full.wall / 1000.0);
    abiQuotaTimes().push_back(t);
  }
  for (std::size_t i = 0; i < abiQuotaTimes().size(); ++i) moduleQuotaTimes().push_back(quotaRun<EngineTarget>());
  auto pick = [](const std::vector<QuotaTimes>& v, Sample QuotaTimes::*field) {
    std::vector<Sample> x;
    for (const QuotaTimes& t : v) x.push_back(t.*field);
    return median(x);
  };
  Sample ref = referencePassMs(kQuotaAgents, "cpus:2;mem:2048;disk:2048", kSmallRoles + kLargeRoles);
  state.counters["offers"] = static_cast<double>(abiQuotaTimes().front().offers);
  state.counters["add_fw_ms"] = pick(abiQuotaTimes(), &QuotaTimes::addFrameworks).wall;
  state.counters["empty_ms"] = pick(abiQuotaTimes(), &QuotaTimes::empty).wall;
  state.counters["empty_rescan_ms"] = pick(abiQuotaTimes(), &QuotaTimes::emptyRescan).wall;
  auto row = [&](const char* name, const char* mesos, const char* target, Sample QuotaTimes::*field) {
    record(state, Row{name, mesos, target, pick(abiQuotaTimes(), field), pick(moduleQuotaTimes(), field), ref});
  };
  row("LargeAndSmallQuota: 3k agents, 3k roles, full cycle", "15.4 s", "<= 100 ms", &QuotaTimes::full);
  row("LargeAndSmallQuota: empty cycle (nothing changed)", "13.7 s", "<= 1 ms", &QuotaTimes::empty);
  row("LargeAndSmallQuota: empty cycle after a weight change (rescan)", "13.7 s", "<= 1 ms", &QuotaTimes::emptyRescan);
  row("LargeAndSmallQuota: add 3k frameworks", "-", "<= 50 ms", &QuotaTimes::addFrameworks);
  // The counters of this benchmark entry are those of its last record; show
  // the full cycle's.
  Sample full = pick(abiQuotaTimes(), &QuotaTimes::full);
  state.counters["abi_ms"] = full.wall;
  state.counters["module_ms"] = pick(moduleQuotaTimes(), &QuotaTimes::full).wall;
  state.counters["abi_x_ref"] = full.wall / ref.wall;
  state.counters["module_x_ref"] = state.counters["module_ms"] / ref.wall;
  state.counters["abi_cpu_ms"] = full.cpu;
}
BENCHMARK(BM_LargeAndSmallQuota)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

// ---- 3. Scale ----------------------------------------------------------------------

constexpr std::size_t kScaleAgents = 50000;
constexpr std::size_t kScaleFrameworks = 1000;

// Each run is a fresh allocator; the responses go onto `responses`, the
// host's arena kept between runs (as the reference keeps its arena between
// passes): the first run pays the page faults of a cold arena, later ones
// decode onto memory already touched.
template <class Target>
Sample scaleRun(ReusableArena* responses, std::size_t* offers) {
  Target t(responses);
  auto total = parseResources(kDeclineShape);
  for (std::size_t i = 0; i < kScaleAgents; ++i) t.addAgent(agentRequest(i, total));
  for (std::size_t f = 0; f < kScaleFrameworks; ++f) {
    t.addFramework(frameworkRequest("framework-" + std::to_string(f), "role" + std::to_string(f % 10)));
  }
  t.releaseResponse();  // the previous run's response, outside the timed section
  Stopwatch watch;
  *offers = static_cast<std::size_t>(t.allocate(1).offers_size());
  Sample elapsed = watch.elapsed();
  t.releaseResponse();
  return elapsed;
}

void BM_Scale(benchmark::State& state) {
  std::vector<Sample> abiSamples;
  std::vector<Sample> moduleSamples;
  ReusableArena abiResponses, moduleResponses;
  std::size_t offers = 0;
  for (auto _ : state) {
    Sample t = scaleRun<AbiTarget>(&abiResponses, &offers);
    state.SetIterationTime(t.wall / 1000.0);
    abiSamples.push_back(t);
  }
  for (std::size_t i = 0; i < abiSamples.size(); ++i) {
    moduleSamples.push_back(scaleRun<EngineTarget>(&moduleResponses, &offers));
  }
  state.counters["offers"] = static_cast<double>(offers);
  // The first run, onto a cold arena (a host's very first cycle).
  state.counters["abi_first_ms"] = abiSamples.front().wall;
  state.counters["abi_first_cpu_ms"] = abiSamples.front().cpu;
  record(state, Row{"Scale: 50k agents, 1k frameworks in 10 roles, full cycle", "-", "<= 50 ms", median(abiSamples),
                    median(moduleSamples), referencePassMs(kScaleAgents, kDeclineShape, kScaleFrameworks)});
}
BENCHMARK(BM_Scale)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

void printTable() {
  std::printf(
      "\nMantle DRF allocator vs Mesos (medians; ref = plain heap DRF allocator over the same agents and "
      "frameworks, same run; cpu = this thread's CPU time)\n");
  std::printf("| %-62s | %-8s | %-9s | %9s | %9s | %8s | %7s | %10s | %8s | %10s | %8s | %11s | %14s |\n", "benchmark",
              "Mesos", "target", "ABI ms", "module ms", "ref ms", "ABI/ref", "module/ref", "ABI cpu", "module cpu",
              "ref cpu", "cpu ABI/ref", "cpu module/ref");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(64, '-').c_str(), std::string(10, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(10, '-').c_str(), std::string(9, '-').c_str(), std::string(12, '-').c_str(),
              std::string(10, '-').c_str(), std::string(12, '-').c_str(), std::string(10, '-').c_str(),
              std::string(13, '-').c_str(), std::string(16, '-').c_str());
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  for (const Row& r : rows()) {
    std::printf(
        "| %-62s | %-8s | %-9s | %9.3f | %9.3f | %8.3f | %7.1f | %10.1f | %8.3f | %10.3f | %8.3f | %11.1f | %14.1f |\n",
        r.name.c_str(), r.mesos.c_str(), r.target.c_str(), r.abi.wall, r.module.wall, r.ref.wall,
        ratio(r.abi.wall, r.ref.wall), ratio(r.module.wall, r.ref.wall), r.abi.cpu, r.module.cpu, r.ref.cpu,
        ratio(r.abi.cpu, r.ref.cpu), ratio(r.module.cpu, r.ref.cpu));
  }
  if (declineSplits().empty()) return;
  std::printf(
      "\nDeclineOffers round by phase (this thread's CPU ms, medians of the rounds; build = the decline batch made "
      "from the offers, the same code for all)\n");
  std::printf("| %-6s | %8s | %8s | %8s | %8s |\n", "", "allocate", "build", "recover", "sum");
  std::printf("|--------|----------|----------|----------|----------|\n");
  for (const SplitRow& s : declineSplits()) {
    const RoundSplit& m = s.median;
    std::printf("| %-6s | %8.3f | %8.3f | %8.3f | %8.3f |\n", s.target.c_str(), m.allocate, m.build, m.recover,
                m.allocate + m.build + m.recover);
  }
}

}  // namespace
}  // namespace mantle::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  mantle::bench::printTable();
  return 0;
}

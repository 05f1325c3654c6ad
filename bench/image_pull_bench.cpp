// Pull of a 3-layer, ~10 MB image from a docker-registry on loopback: mantle's
// image store (download, sha256 verification, extraction into the layer
// store) against `skopeo copy` of the same image to a local directory
// (download and verification, no extraction), in the same run. Prints a
// table; bench/README.md explains the columns.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <vector>

#include "docker_registry.hpp"
#include "images/store.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using mantle::testing::TempDir;

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::uint64_t treeBytes(const fs::path& root) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  TempDir dir;
  // Layer 1: busybox (~2 MB) and 2.7 MB of random bytes; layers 2 and 3: 2.7 MB each.
  mantle::testing::buildBusyboxLayout(
      dir.path() / "layout",
      mantle::testing::BusyboxImage{.tag = "bench", .layers = 3, .payloadBytesPerLayer = 2'700'000});
  mantle::testing::DockerRegistry registry;
  const std::string name = registry.host() + "/bench:latest";
  mantle::testing::skopeoCopy("oci:" + (dir.path() / "layout").string() + ":bench", "docker://" + name,
                              {"--format", "v2s2"});
  // What a pull transfers: the blobs as skopeo stores them (manifest, config, layers).
  const fs::path probe = dir.path() / "probe";
  mantle::testing::skopeoCopy("docker://" + name, "dir:" + probe.string());
  const double megabytes = static_cast<double>(treeBytes(probe)) / 1e6;

  std::vector<double> mantleSeconds;
  std::vector<double> skopeoSeconds;
  for (int run = 0; run < runs; ++run) {
    boost::asio::io_context io;
    auto store = mantle::images::ImageStore::create(
        io.get_executor(),
        mantle::images::StoreOptions{.storeDir = (dir.path() / ("store" + std::to_string(run))).string()});
    if (!store.ok()) {
      std::fprintf(stderr, "store: %s\n", store.error().message.c_str());
      return 1;
    }
    std::optional<mantle::Result<mantle::images::PulledImage>> result;
    const auto start = std::chrono::steady_clock::now();
    (*store)->pull({mantle::images::ImageReference::Type::kDocker, name}, false,
                   [&](mantle::Result<mantle::images::PulledImage> r) { result = std::move(r); });
    auto guard = boost::asio::make_work_guard(io);
    while (!result && io.run_one_for(std::chrono::seconds(120)) > 0) {
    }
    mantleSeconds.push_back(seconds(std::chrono::steady_clock::now() - start));
    if (!result || !result->ok()) {
      std::fprintf(stderr, "pull failed: %s\n", result ? result->error().message.c_str() : "no answer");
      return 1;
    }
    const auto skopeoStart = std::chrono::steady_clock::now();
    mantle::testing::skopeoCopy("docker://" + name, "dir:" + (dir.path() / ("skopeo" + std::to_string(run))).string());
    skopeoSeconds.push_back(seconds(std::chrono::steady_clock::now() - skopeoStart));
    fs::remove_all(dir.path() / ("store" + std::to_string(run)));
    fs::remove_all(dir.path() / ("skopeo" + std::to_string(run)));
  }
  std::printf("image: 3 layers, %.1f MB transferred (compressed blobs), %d runs, medians\n\n", megabytes, runs);
  std::printf("| puller | what it does | s | MB/s |\n|---|---|---|---|\n");
  const double m = median(mantleSeconds);
  const double s = median(skopeoSeconds);
  std::printf("| mantle ImageStore::pull | download, verify, extract into the layer store | %.3f | %.1f |\n", m,
              megabytes / m);
  std::printf("| skopeo copy docker:// dir: | download, verify | %.3f | %.1f |\n", s, megabytes / s);
  std::printf("\nmantle/skopeo time: %.2f\n", m / s);
  return 0;
}

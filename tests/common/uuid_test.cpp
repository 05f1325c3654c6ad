// Random UUIDs (common/uuid): the version-4 layout Mesos expects in status
// update uuids, the canonical text form, and no repeats across threads.
#include "mantle/common/uuid.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mantle::uuid {
namespace {

TEST(Uuid, RandomBytesAreSixteenWithVersionFourAndTheRfcVariant) {
  for (int i = 0; i < 100; ++i) {
    const std::string bytes = randomBytes();
    ASSERT_EQ(bytes.size(), 16u);
    EXPECT_EQ(static_cast<unsigned char>(bytes[6]) >> 4, 4u);
    EXPECT_EQ(static_cast<unsigned char>(bytes[8]) >> 6, 2u);
  }
}

TEST(Uuid, TextIsCanonicalLowerCaseHexWithDashes) {
  const std::string bytes("\x00\x11\x22\x33\x44\x55\x46\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
  EXPECT_EQ(toText(bytes), "00112233-4455-4677-8899-aabbccddeeff");
  const std::string text = randomText();
  ASSERT_EQ(text.size(), 36u);
  EXPECT_EQ(text[14], '4');
}

TEST(Uuid, ThreadsDrawingAtOnceNeverRepeatAValue) {
  constexpr int kThreads = 8;
  constexpr int kEach = 2000;
  std::vector<std::vector<std::string>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&drawn, t] {
      for (int i = 0; i < kEach; ++i) drawn[t].push_back(randomBytes());
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& values : drawn) all.insert(values.begin(), values.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace mantle::uuid

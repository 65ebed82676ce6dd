//===- BlockCacheTest.cpp - reuse of freed device blocks ------------------===//

#include "BlockCache.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdint>

using namespace weft::runtime;

namespace {

// Blocks are only bookkept, never dereferenced: distinct addresses suffice.
void *block(uintptr_t id) { return reinterpret_cast<void *>(id << 12); }

TEST(BlockCacheTest, RoundsSmallSizesTo512AndLargeOnesToMiB) {
  EXPECT_EQ(BlockCache::roundUp(0), 512u);
  EXPECT_EQ(BlockCache::roundUp(1), 512u);
  EXPECT_EQ(BlockCache::roundUp(512), 512u);
  EXPECT_EQ(BlockCache::roundUp(513), 1024u);
  EXPECT_EQ(BlockCache::roundUp((1u << 20) - 1), 1u << 20);
  EXPECT_EQ(BlockCache::roundUp((1u << 20) + 1), 2u << 20);
}

TEST(BlockCacheTest, HandsOutOnlyBlocksOfTheSameSize) {
  BlockCache cache(1 << 20);
  EXPECT_EQ(cache.take(1024), nullptr);
  EXPECT_TRUE(cache.put(block(1), 1024).empty());
  EXPECT_TRUE(cache.put(block(2), 2048).empty());
  EXPECT_EQ(cache.cachedBytes(), 3072u);
  EXPECT_EQ(cache.take(512), nullptr);
  EXPECT_EQ(cache.take(2048), block(2));
  EXPECT_EQ(cache.take(2048), nullptr);
  EXPECT_EQ(cache.take(1024), block(1));
  EXPECT_EQ(cache.cachedBytes(), 0u);
}

TEST(BlockCacheTest, EvictsTheLargestBlocksToStayUnderTheLimit) {
  BlockCache cache(4096);
  EXPECT_TRUE(cache.put(block(1), 512).empty());
  EXPECT_TRUE(cache.put(block(2), 2048).empty());
  EXPECT_TRUE(cache.put(block(3), 1024).empty());
  // 3584 cached; 1024 more needs 512 freed: the 2048 block goes.
  std::vector<void *> evicted = cache.put(block(4), 1024);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0], block(2));
  EXPECT_EQ(cache.cachedBytes(), 2560u);
  EXPECT_EQ(cache.take(2048), nullptr);
}

TEST(BlockCacheTest, ABlockOverTheLimitIsNotKept) {
  BlockCache cache(1024);
  std::vector<void *> evicted = cache.put(block(1), 2048);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0], block(1));
  EXPECT_EQ(cache.cachedBytes(), 0u);

  BlockCache disabled(0);
  EXPECT_EQ(disabled.put(block(2), 512), std::vector<void *>{block(2)});
}

TEST(BlockCacheTest, DrainReturnsEveryBlock) {
  BlockCache cache(1 << 20);
  cache.put(block(1), 512);
  cache.put(block(2), 512);
  cache.put(block(3), 4096);
  std::vector<void *> all = cache.drain();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<void *>{block(1), block(2), block(3)}));
  EXPECT_EQ(cache.cachedBytes(), 0u);
  EXPECT_EQ(cache.take(512), nullptr);
}

} // namespace

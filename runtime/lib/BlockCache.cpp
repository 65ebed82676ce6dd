//===- BlockCache.cpp - reuse of freed device blocks ----------------------===//

#include "BlockCache.h"

using namespace weft::runtime;

size_t BlockCache::roundUp(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(1) << 20;
  size_t unit = bytes < kLarge ? kSmall : kLarge;
  if (bytes == 0)
    return unit;
  return (bytes + unit - 1) / unit * unit;
}

void *BlockCache::take(size_t blockBytes) {
  auto it = blocks.find(blockBytes);
  if (it == blocks.end())
    return nullptr;
  void *block = it->second;
  blocks.erase(it);
  bytes -= blockBytes;
  return block;
}

std::vector<void *> BlockCache::put(void *block, size_t blockBytes) {
  if (blockBytes > limit)
    return {block};
  std::vector<void *> evicted;
  // Make room by dropping the largest blocks: one large block frees as much
  // as many small ones, and small sizes are the ones calls repeat most.
  while (bytes + blockBytes > limit) {
    auto largest = std::prev(blocks.end());
    evicted.push_back(largest->second);
    bytes -= largest->first;
    blocks.erase(largest);
  }
  blocks.emplace(blockBytes, block);
  bytes += blockBytes;
  return evicted;
}

std::vector<void *> BlockCache::drain() {
  std::vector<void *> all;
  for (auto &entry : blocks)
    all.push_back(entry.second);
  blocks.clear();
  bytes = 0;
  return all;
}

//===- BlockCache.h - reuse of freed device blocks --------------*- C++ -*-===//
//
// Compiled code allocates and frees its buffers on every call. On the GPU a
// fresh unified-memory block costs a driver call, its first touch on the
// device costs page faults, and freeing it synchronises the device; a call
// that runs the same shapes again needs the same sizes again. Freed blocks are
// therefore kept by size and handed out again, up to a byte limit. The cache
// only does the bookkeeping: the caller allocates and frees the blocks.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_BLOCKCACHE_H
#define WEFT_RUNTIME_LIB_BLOCKCACHE_H

#include <cstddef>
#include <map>
#include <vector>

namespace weft::runtime {

class BlockCache {
public:
  /// Keeps at most `limitBytes` of free blocks (0: keeps none).
  explicit BlockCache(size_t limitBytes) : limit(limitBytes) {}

  /// The size of the block to allocate for `bytes`: multiples of 512 bytes
  /// below 1 MiB, of 1 MiB above, so that nearby sizes share blocks.
  static size_t roundUp(size_t bytes);

  /// A free block of exactly `blockBytes` (a roundUp result), or nullptr.
  void *take(size_t blockBytes);

  /// Keeps a freed block; returns the blocks the caller must free now to
  /// stay under the limit (the largest first, or `block` itself when it alone
  /// exceeds the limit).
  std::vector<void *> put(void *block, size_t blockBytes);

  /// Empties the cache; the caller frees the returned blocks.
  std::vector<void *> drain();

  size_t cachedBytes() const { return bytes; }

private:
  size_t limit;
  size_t bytes = 0;
  std::multimap<size_t, void *> blocks;
};

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_BLOCKCACHE_H

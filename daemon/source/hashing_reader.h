// HashingReader: a stdio FILE* over a capture file that hashes (SHA-256) and
// counts every byte read through it, so that `flightwall audit` reads a
// capture once: libpcap parses the bytes the hash already covers, instead of
// the file being read once to hash it and again to parse it (half the I/O for
// a capture larger than the page cache).
//
// For a file of at least kThreadFrom bytes the hashing runs on a thread of
// its own, fed copies of what was read through a small bounded queue (at
// most kQueued chunks of the stdio buffer size), so that on a machine with
// two cores hashing costs the audit's packet thread a copy, not SHA-256 of
// every byte. Smaller files are hashed inline: a thread would cost more than
// it saves (and sanitizer builds make thread start and exit slow).
//
// Finish() reads what libpcap left unread (the rest of a damaged file) so
// the digest always covers the whole file, then gives the digest and size.
// Call it before the FILE* is closed (pcap_close closes it and with it the
// descriptor; the HashingReader itself stays with its owner). The
// object itself is used from one thread.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "common/status.h"

namespace flightwall {

class HashingReader {
 public:
  // Takes ownership of `fd` (closed with the FILE*, or at once when no
  // FILE* could be made). `size` is the file's size as fstat gave it: it
  // decides whether the hashing gets a thread.
  static Result<std::unique_ptr<HashingReader>> Open(int fd, std::uint64_t size);
  static constexpr std::uint64_t kThreadFrom = 8 * 1024 * 1024;
  ~HashingReader();
  HashingReader(const HashingReader&) = delete;
  HashingReader& operator=(const HashingReader&) = delete;

  // The stream to hand libpcap (pcap_fopen_offline); closing it closes the
  // descriptor.
  std::FILE* File() const { return file_; }
  // Bytes read from the file so far (ahead of what libpcap consumed by at
  // most its stdio buffer).
  std::uint64_t BytesRead() const { return position_; }
  // Reads the rest of the file into the hash; an error on a read error.
  // Then *sha256_hex and *size describe the whole file.
  Status Finish(std::string* sha256_hex, std::uint64_t* size);

 private:
  HashingReader() = default;
  static ssize_t Read(void* cookie, char* buf, std::size_t size);
  static int Seek(void* cookie, off64_t* offset, int whence);
  static int Close(void* cookie);

  void Hash(std::span<const std::uint8_t> bytes);  // on the reading thread
  void HashLoop();                                 // the hashing thread
  void StopHashing();

  static constexpr std::size_t kQueued = 8;
  int fd_ = -1;
  std::FILE* file_ = nullptr;
  std::uint64_t position_ = 0;
  int read_errno_ = 0;

  Sha256Hasher hasher_;  // the hashing thread's, until it is joined
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<std::uint8_t>> full_;   // read, not hashed yet
  std::vector<std::vector<std::uint8_t>> free_;  // hashed, ready for reuse
  std::size_t chunks_ = 0;                       // allocated, at most kQueued
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace flightwall

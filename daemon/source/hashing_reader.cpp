#include "source/hashing_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

namespace flightwall {

Result<std::unique_ptr<HashingReader>> HashingReader::Open(int fd, std::uint64_t size) {
  std::unique_ptr<HashingReader> r(new HashingReader());
  r->fd_ = fd;
  const cookie_io_functions_t io{&HashingReader::Read, nullptr, &HashingReader::Seek,
                                 &HashingReader::Close};
  r->file_ = fopencookie(r.get(), "rb", io);
  if (r->file_ == nullptr) {
    const int err = errno;
    close(fd);
    r->fd_ = -1;
    return Status::Error(std::string("cannot read: ") + std::strerror(err));
  }
  // libpcap reads record by record; large reads keep the syscalls few.
  constexpr std::size_t kBuffer = 256 * 1024;
  std::setvbuf(r->file_, nullptr, _IOFBF, kBuffer);
  if (size >= kThreadFrom) r->thread_ = std::thread(&HashingReader::HashLoop, r.get());
  return r;
}

HashingReader::~HashingReader() {
  StopHashing();
  if (fd_ >= 0) close(fd_);  // the FILE* was never closed (an aborted run)
}

void HashingReader::Hash(std::span<const std::uint8_t> bytes) {
  if (!thread_.joinable()) {
    hasher_.Update(bytes);  // a small file, or the hashing thread is done
    return;
  }
  std::unique_lock lock(mutex_);
  if (free_.empty() && chunks_ < kQueued) {
    free_.emplace_back();
    ++chunks_;
  }
  changed_.wait(lock, [this] { return !free_.empty(); });
  std::vector<std::uint8_t> chunk = std::move(free_.back());
  free_.pop_back();
  chunk.assign(bytes.begin(), bytes.end());
  full_.push_back(std::move(chunk));
  changed_.notify_all();
}

void HashingReader::HashLoop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !full_.empty(); });
    if (full_.empty()) return;  // stopping, and everything read is hashed
    std::vector<std::uint8_t> chunk = std::move(full_.front());
    full_.pop_front();
    lock.unlock();
    hasher_.Update(chunk);
    lock.lock();
    free_.push_back(std::move(chunk));
    changed_.notify_all();
  }
}

void HashingReader::StopHashing() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

ssize_t HashingReader::Read(void* cookie, char* buf, std::size_t size) {
  auto* r = static_cast<HashingReader*>(cookie);
  ssize_t n = 0;
  do {
    n = read(r->fd_, buf, size);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    r->read_errno_ = errno;
    return -1;
  }
  if (n > 0) {
    r->Hash(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(buf),
                                          static_cast<std::size_t>(n)));
  }
  r->position_ += static_cast<std::uint64_t>(n);
  return n;
}

int HashingReader::Seek(void* cookie, off64_t* offset, int whence) {
  // Only ftell (where are we?) is answered; the stream never moves back.
  const auto* r = static_cast<const HashingReader*>(cookie);
  if (whence != SEEK_CUR || *offset != 0) return -1;
  *offset = static_cast<off64_t>(r->position_);
  return 0;
}

int HashingReader::Close(void* cookie) {
  auto* r = static_cast<HashingReader*>(cookie);
  const int rc = r->fd_ >= 0 ? close(r->fd_) : 0;
  r->fd_ = -1;
  r->file_ = nullptr;
  return rc;
}

Status HashingReader::Finish(std::string* sha256_hex, std::uint64_t* size) {
  constexpr std::size_t kChunk = 256 * 1024;
  const auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  while (fd_ >= 0 && read_errno_ == 0) {
    if (Read(this, buf.get(), kChunk) <= 0) break;
  }
  if (read_errno_ != 0)
    return Status::Error(std::string("read error: ") + std::strerror(read_errno_));
  StopHashing();
  *sha256_hex = hasher_.FinalHex();
  *size = position_;
  return {};
}

}  // namespace flightwall

#pragma once
// Reading files whole, gzip with a bound on what it may inflate to, and durable atomic writes.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

using Bytes = std::vector<std::uint8_t>;

// A regular file's bytes, or a FIFO's or pipe's (`<(command)`): read to its end while a writer
// holds it open, at most 1 GB, with at most 30 seconds between pieces; one that no writer holds
// is refused at once rather than waited on. Directories, devices and sockets are refused before
// they are opened. Throws Error naming the file.
Bytes read_file(const std::string& path);

bool is_gzip(std::span<const std::uint8_t> bytes);
// Inflates gzip data as a stream and stops with an error naming `what` as soon as the output
// passes max_out bytes, so memory stays within max_out (plus one buffer) whatever the data.
// Several members one after another (`cat a.gz b.gz`) are read as one stream.
Bytes gunzip(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t max_out);
// The first `n` bytes a gzip stream inflates to (fewer if it is shorter): an IDX header, say.
Bytes gunzip_prefix(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t n);
// The most `compressed` bytes of gzip may inflate to for data digitnet reads (images, labels,
// CSV text): real datasets compress 2-10 times; deflate's own limit is about 1,032 times, which
// only a bomb comes near.
std::size_t plausible_inflated_size(std::size_t compressed);
// A file's bytes, inflated (within plausible_inflated_size) if it is gzip.
Bytes read_maybe_gzipped(const std::string& path);

// Checks, before any long work, that write_file_atomic(path) can succeed: the directory
// exists and takes a new file, and path is not a directory, device or FIFO. `what` names the
// purpose in the error (the caller's word for the file).
void check_writable(const std::string& path, const std::string& what);

// Writes bytes as path: a temp file in path's directory, fsync, rename over path, fsync of the
// directory. Either the old file or the whole new one is there, even after a crash or kill -9.
// A symlink at path is followed: the file it points to is replaced and the link kept. A
// directory, device or FIFO at path is refused. Temp files that killed runs left for this path
// are removed; a failed write leaves none.
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes);

// The same for a writer that streams (a download, a library that writes to a file name): it
// writes to name(), then commit() puts the file in place; if commit() is never reached (an
// error, an exception), the destructor removes the temp file.
class TempFile {
 public:
  explicit TempFile(const std::string& path);  // resolves path as write_file_atomic does
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& name() const { return temp_; }
  const std::string& target() const { return target_; }
  void commit();  // fsync, rename over the target, fsync the directory

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

// The temp files of killed runs match "<target>.tmp-<pid>.<n>"; those whose process is gone.
std::vector<std::string> stale_temp_files(const std::string& target);
// Removes them: a new write of the target does this, and so does a run that ends without one.
void remove_stale_temp_files(const std::string& target);

}  // namespace digitnet

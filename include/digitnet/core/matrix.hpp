#pragma once
// Matrix<T>: a non-owning row-major view (rows x cols, rows `stride` apart).
// Tensor<T>: owns float/double storage and hands out views.
// All batches in digitnet are row-major with one example per row.
#include <cstddef>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

namespace digitnet {

// Storage that starts on a cache line (64 bytes), so that columns split between cores in
// multiples of 16 floats never put two cores' numbers in one cache line.
template <class T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const {
    return true;
  }
};
template <class T>
using AlignedVector = std::vector<T, CacheAligned<T>>;

template <class T>
struct Matrix {
  T* data = nullptr;
  int rows = 0;
  int cols = 0;
  int stride = 0;

  Matrix() = default;
  Matrix(T* d, int r, int c) : data(d), rows(r), cols(c), stride(c) {}
  Matrix(T* d, int r, int c, int s) : data(d), rows(r), cols(c), stride(s) {}
  // A view of T converts to a view of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T>>>
  Matrix(const Matrix<U>& m) : data(m.data), rows(m.rows), cols(m.cols), stride(m.stride) {}

  T& operator()(int r, int c) const { return data[static_cast<std::size_t>(r) * stride + c]; }
  T* row(int r) const { return data + static_cast<std::size_t>(r) * stride; }
  // Rows [first, first + count) as a view.
  Matrix rows_view(int first, int count) const { return {row(first), count, cols, stride}; }
  // Columns [first, first + count) as a view.
  Matrix cols_view(int first, int count) const { return {data + first, rows, count, stride}; }
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
  bool empty() const { return data == nullptr || rows == 0 || cols == 0; }
  // Every element in order, for a view whose rows lie back to back (stride == cols).
  std::span<T> values() const { return {data, size()}; }
};

template <class T>
struct Tensor {
  AlignedVector<T> storage;
  int rows = 0;
  int cols = 0;

  Tensor() = default;
  Tensor(int r, int c) { resize(r, c); }

  // Keeps capacity, so a training loop that resizes to the same shapes never allocates.
  void resize(int r, int c) {
    rows = r;
    cols = c;
    storage.resize(static_cast<std::size_t>(r) * c);
  }
  void fill(T v) { std::fill(storage.begin(), storage.end(), v); }
  Matrix<T> view() { return {storage.data(), rows, cols}; }
  Matrix<const T> view() const { return {storage.data(), rows, cols}; }
  T* data() { return storage.data(); }
  const T* data() const { return storage.data(); }
  std::size_t size() const { return storage.size(); }
  T& operator()(int r, int c) { return storage[static_cast<std::size_t>(r) * cols + c]; }
  const T& operator()(int r, int c) const { return storage[static_cast<std::size_t>(r) * cols + c]; }
};

}  // namespace digitnet

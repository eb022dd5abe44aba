#pragma once
// A batch of examples as the first layer reads it (rows x features): a matrix, or a function
// that writes one. A written batch is written by each core that reads it, into a copy of its
// own, so a core never reads rows that another core wrote: those cache lines would have to
// cross between the cores, and that costs more than converting the bytes again. A core that
// reads only some features (columns) writes only those.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "digitnet/core/matrix.hpp"
#include "digitnet/core/parallel.hpp"

namespace digitnet {

template <class T>
struct Batch {
  // Writes features first .. first + X.cols of the batch into X (the same values every time).
  using Fill = FunctionRef<void(Matrix<T> X, int first)>;
  Matrix<const T> X;           // the batch; or, when X.data is null, its shape, and fill writes it
  const Fill* fill = nullptr;  // must outlive the step the batch is used in

  Batch(Matrix<const T> x) : X(x) {}  // NOLINT(google-explicit-constructor): a matrix is a batch
  Batch(Matrix<T> x) : X(x) {}        // NOLINT(google-explicit-constructor)
  Batch(int rows, int cols, const Fill& f) : X(nullptr, rows, cols), fill(&f) {}
  int rows() const { return X.rows; }
  int cols() const { return X.cols; }
};

// One step's batch as each core reads it.
template <class T>
class CoreCopies {
 public:
  // A new step: no core has written its copy yet.
  void start(const Batch<T>& batch) {
    X_ = batch.X;
    fill_ = batch.fill;
    if (!fill_) return;
    // Started inside a task, every read of this step is on this thread (threads() is 1 there).
    first_core_ = current_core();
    copies_.resize(threads());
    written_.assign(copies_.size(), {0, 0});
  }
  // The batch as the calling core reads it: the matrix, or this core's copy, whose columns
  // c0 .. c1 are written on their first read in this step (the other columns may not be).
  Matrix<const T> here(int c0, int c1) {
    if (!fill_) return X_;
    const auto c = static_cast<std::size_t>(current_core() - first_core_);
    auto& [w0, w1] = written_[c];  // the columns written so far
    if (c0 < w0 || c1 > w1) {
      copies_[c].resize(X_.rows, X_.cols);
      (*fill_)(copies_[c].view().cols_view(c0, c1 - c0), c0);
      if (w0 == w1 || c1 < w0 || c0 > w1) w0 = c0, w1 = c1;  // disjoint: those before are written again if read
      else w0 = std::min(w0, c0), w1 = std::max(w1, c1);
    }
    return copies_[c].view();
  }
  Matrix<const T> here() { return here(0, X_.cols); }

 private:
  Matrix<const T> X_;
  const typename Batch<T>::Fill* fill_ = nullptr;
  int first_core_ = 0;
  std::vector<Tensor<T>> copies_;
  std::vector<std::pair<int, int>> written_;
};

}  // namespace digitnet

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

// One step's batch as each core reads it; and, when the caller knows it, the next step's,
// written ahead in this step (Network::train_step's look-ahead) into copies of their own.
template <class T>
class CoreCopies {
 public:
  // A new step: no core has written its copy yet.
  void start(const Batch<T>& batch) { now_.start(batch); }
  // The batch as the calling core reads it: the matrix, or this core's copy, whose columns
  // c0 .. c1 are written on their first read in this step (the other columns may not be).
  Matrix<const T> here(int c0, int c1) { return now_.here(c0, c1); }
  Matrix<const T> here() { return here(0, now_.X.cols); }

  // The next step's batch (written by a fill, not a matrix, which the caller may reuse), read
  // as here() reads this step's, into a second set of copies.
  void start_next(const Batch<T>& next) { next_.start(next); }
  Matrix<const T> next_here(int c0, int c1) { return next_.here(c0, c1); }
  // A new step on the batch start_next was given (`batch` writes it the same way): the columns
  // each core wrote ahead are its copy's, and the others are written when read.
  void start_prepared(const Batch<T>& batch) {
    std::swap(now_, next_);
    now_.X = batch.X;
    now_.fill = batch.fill;
    now_.copies.resize(threads());  // a thread count set since (those added have written nothing)
    now_.written.resize(now_.copies.size(), {0, 0});
  }

 private:
  struct Copies {
    Matrix<const T> X;
    const typename Batch<T>::Fill* fill = nullptr;
    int first_core = 0;
    std::vector<Tensor<T>> copies;
    std::vector<std::pair<int, int>> written;  // per core: the columns written so far

    void start(const Batch<T>& batch) {
      X = batch.X;
      fill = batch.fill;
      if (!fill) return;
      // Started inside a task, every read of this step is on this thread (threads() is 1 there).
      first_core = current_core();
      copies.resize(threads());
      written.assign(copies.size(), {0, 0});
    }
    Matrix<const T> here(int c0, int c1) {
      if (!fill) return X;
      const auto c = static_cast<std::size_t>(current_core() - first_core);
      auto& [w0, w1] = written[c];
      if (c0 < w0 || c1 > w1) {
        copies[c].resize(X.rows, X.cols);
        (*fill)(copies[c].view().cols_view(c0, c1 - c0), c0);
        if (w0 == w1 || c1 < w0 || c0 > w1) w0 = c0, w1 = c1;  // disjoint: those before are written again if read
        else w0 = std::min(w0, c0), w1 = std::max(w1, c1);
      }
      return copies[c].view();
    }
  };
  Copies now_, next_;
};

}  // namespace digitnet

#include "app/media/speech_recognizer.hpp"

#include "core/transcribe.hpp"

// Coroutines follow docs/coroutines.md (named locals before every co_await).

namespace dp::app {

namespace {

class PoolStream final : public SpeechStreamPort {
 public:
  PoolStream(std::unique_ptr<io::PocketsphinxPool::Stream> s, std::function<void()> released)
      : s_(std::move(s)), released_(std::move(released)) {}
  ~PoolStream() override {
    s_.reset();
    if (released_) released_();
  }
  boost::asio::awaitable<SttHypothesisResult> feed(std::vector<std::int16_t> pcm16k,
                                                   std::chrono::milliseconds timeout) override {
    auto h = co_await s_->feed(std::move(pcm16k), timeout);
    co_return SttHypothesisResult{std::move(h.text), h.confidence, std::move(h.error)};
  }
  boost::asio::awaitable<SttHypothesisResult> end_utterance(std::chrono::milliseconds timeout) override {
    auto h = co_await s_->end_utterance(timeout);
    co_return SttHypothesisResult{std::move(h.text), h.confidence, std::move(h.error)};
  }

 private:
  std::unique_ptr<io::PocketsphinxPool::Stream> s_;
  std::function<void()> released_;
};

}  // namespace

EmbeddedRecognizer::EmbeddedRecognizer(io::PocketsphinxPool* pool, std::string off_reason, OnInUse on_in_use)
    : pool_(pool), off_reason_(std::move(off_reason)), on_in_use_(std::move(on_in_use)) {
  report();
}

EmbeddedRecognizer::~EmbeddedRecognizer() { *alive_ = false; }

void EmbeddedRecognizer::report() const {
  if (on_in_use_) on_in_use_(pool_ ? pool_->in_use() : 0, pool_ ? pool_->size() : 0);
}

SttOpen EmbeddedRecognizer::open(std::string_view vendor, std::string_view language) {
  SttOpen out;
  out.error = core::stt::refusal(vendor, language);
  if (!out.error.empty()) return out;
  if (!pool_) {
    out.error = "the embedded speech recognizer is off: " + off_reason_;
    return out;
  }
  auto s = pool_->try_acquire();
  if (!s) {
    out.error = "no speech recognizer free: all " + std::to_string(pool_->size()) +
                " decoders are in use (--stt-decoders)";
    out.pool_exhausted = true;
    return out;
  }
  out.stream = std::make_unique<PoolStream>(std::move(s), [this, alive = alive_] {
    if (*alive) report();
  });
  report();
  return out;
}

}  // namespace dp::app

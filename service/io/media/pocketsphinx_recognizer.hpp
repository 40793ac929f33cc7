// The embedded speech recognizer: CMU pocketsphinx (Debian 12's 5prealpha, its old API) with the US English
// model of pocketsphinx-en-us (16 kHz). A bounded pool of decoders: each is created once, on first use, on its
// own thread (a WorkerThread), and reused by one stream after another (ps_start_utt/ps_end_utt per utterance).
// Every pocketsphinx call runs on that thread, never on an io_context thread. A decoder costs about 100 MB of
// memory; the pool never grows. try_acquire() answers at once: a stream, or nullptr when every decoder is in use.
#pragma once
#include "io/media/worker_thread.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dp::io {

struct PocketsphinxOptions {
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";  // holds en-us/, en-us.lm.bin, cmudict-en-us.dict
  std::string hmm;   // acoustic model dir; "" = <model_dir>/en-us
  std::string lm;    // language model; "" = <model_dir>/en-us.lm.bin
  std::string dict;  // dictionary; "" = <model_dir>/cmudict-en-us.dict
  // The decoder's initial cepstral mean: telephony speech's (8 kHz G.711 raised to 16 kHz), measured by
  // bench/stt_bench with DP_BENCH_TUNE=1 on sentences outside the reported set. Empty = the model's own.
  std::vector<float> cmn_init{47.78f, 30.55f, -26.49f, 47.91f, -17.07f, 5.52f, 7.55f,
                              -10.28f, 12.95f, -2.63f, 4.31f, 6.59f, 5.85f};
  std::vector<std::string> extra_args;  // more pocketsphinx options ("-name", "value", …); the bench tries them
  std::size_t decoders = 2;
  std::size_t max_jobs_per_decoder = 8;  // queued feeds per decoder thread (a stream awaits each one)
};

// One decode step's outcome. `error` set: the decoder could not be created or refused the audio.
struct SttHypothesis {
  std::string text;
  double confidence = 0;  // finals only (0..1, pocketsphinx's posterior); 0 for partials
  std::string error;
};

class PocketsphinxPool {
  struct Slot;
  struct Shared;

 public:
  static constexpr int kSampleRate = 16000;

  explicit PocketsphinxPool(PocketsphinxOptions o);
  ~PocketsphinxPool();
  PocketsphinxPool(const PocketsphinxPool&) = delete;
  PocketsphinxPool& operator=(const PocketsphinxPool&) = delete;

  // Why the model cannot be used ("" when its files are there): checked at start-up, so a missing package is
  // said once, clearly.
  static std::string check_model(const PocketsphinxOptions& o);

  // One stream of utterances on one decoder. Use it on one io thread; destroying it gives the decoder back
  // (an utterance still open is ended on the decoder's thread first).
  class Stream {
   public:
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    // Decodes 16 kHz mono PCM into the current utterance (one starts when none is open). Returns the partial
    // hypothesis so far. `timeout` bounds the wait (WorkerTimeout; the decode goes on, its result dropped).
    boost::asio::awaitable<SttHypothesis> feed(std::vector<std::int16_t> pcm16k, std::chrono::milliseconds timeout);
    // Ends the utterance: its final hypothesis ("" when nothing was recognised or none was open).
    boost::asio::awaitable<SttHypothesis> end_utterance(std::chrono::milliseconds timeout);
    // The decoder's current cepstral mean (13 comma-separated values, pocketsphinx's -cmninit syntax): the bench
    // measures the CMN that telephony audio settles at.
    boost::asio::awaitable<std::string> cmn_state();

   private:
    friend class PocketsphinxPool;
    Stream(std::shared_ptr<Shared> s, Slot* slot) : shared_(std::move(s)), slot_(slot) {}
    std::shared_ptr<Shared> shared_;
    Slot* slot_;
  };

  // A free decoder's stream, or nullptr at once when all are in use (or the pool is stopped).
  std::unique_ptr<Stream> try_acquire();
  std::size_t size() const;
  std::size_t in_use() const;
  // Refuses new streams from now on (shutdown).
  void stop();

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace dp::io

#include "io/media/pocketsphinx_recognizer.hpp"

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>

// Coroutines follow docs/coroutines.md (named locals before every co_await).

namespace dp::io {

namespace {

struct PsFree {
  void operator()(ps_decoder_t* p) const {
    if (p) ps_free(p);
  }
};

std::string or_default(const std::string& v, const std::string& dir, const char* name) {
  return v.empty() ? dir + "/" + name : v;
}

}  // namespace

struct PocketsphinxPool::Slot {
  Slot(const PocketsphinxOptions& o) : opts(o), worker(o.max_jobs_per_decoder) {}
  const PocketsphinxOptions opts;
  // On the worker thread only.
  std::unique_ptr<ps_decoder_t, PsFree> ps;
  bool in_utt = false;
  bool init_tried = false;
  std::string init_error;
  // On the io thread.
  std::atomic<bool> busy{false};
  WorkerThread worker;  // declared last: joined before the decoder above is freed
};

struct PocketsphinxPool::Shared {
  PocketsphinxOptions opts;
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<bool> stopped{false};
};

namespace {

// On a slot's thread: the decoder, created on first use. Jobs hold the slot only (never the pool's shared
// state): a job must not be the one that destroys its own thread.
template <class Slot>
ps_decoder_t* decoder(Slot& s) {
    const auto& opts = s.opts;
    if (s.ps || s.init_tried) return s.ps.get();
    s.init_tried = true;
    static std::mutex init_mutex;  // sphinxbase's logging and error state are process-wide
    std::lock_guard lock(init_mutex);
    static std::once_flag quiet;
    std::call_once(quiet, [] { err_set_logfp(nullptr); });
    auto hmm = or_default(opts.hmm, opts.model_dir, "en-us");
    auto lm = or_default(opts.lm, opts.model_dir, "en-us.lm.bin");
    auto dict = or_default(opts.dict, opts.model_dir, "cmudict-en-us.dict");
    // -dither: telephony silence is often digital zero (µ-law 0xFF), whose frames have no energy at all and
    // would drag the live cepstral mean away from the speech's.
    // A fixed seed: the dither (and so the result) is the same on every run.
    std::vector<std::string> args{"-hmm", hmm, "-lm", lm, "-dict", dict, "-samprate", "16000", "-dither", "yes",
                                  "-seed", "1"};
    args.insert(args.end(), opts.extra_args.begin(), opts.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    cmd_ln_t* cfg = cmd_ln_parse_r(nullptr, ps_args(), static_cast<int32>(argv.size()), argv.data(), TRUE);
    if (!cfg) {
      s.init_error = "pocketsphinx refused its configuration (model " + opts.model_dir + ")";
      return nullptr;
    }
    s.ps.reset(ps_init(cfg));
    cmd_ln_free_r(cfg);
    if (!s.ps) {
      s.init_error = "pocketsphinx could not load its model from " + opts.model_dir;
      return nullptr;
    }
    // The model's initial cepstral mean is wideband speech's; telephony audio raised to 16 kHz has nothing above
    // 4 kHz and a very different one, so a fresh decoder's first utterance came out as a few stray words.
    feat_t* f = ps_get_feat(s.ps.get());
    if (f && f->cmn_struct && static_cast<int>(opts.cmn_init.size()) == f->cmn_struct->veclen) {
      std::vector<mfcc_t> v;
      for (float x : opts.cmn_init) v.push_back(FLOAT2MFCC(x));
      cmn_live_set(f->cmn_struct, v.data());
    }
    return s.ps.get();
}

}  // namespace

PocketsphinxPool::PocketsphinxPool(PocketsphinxOptions o) : shared_(std::make_shared<Shared>()) {
  shared_->opts = std::move(o);
  for (std::size_t i = 0; i < shared_->opts.decoders; ++i)
    shared_->slots.push_back(std::make_unique<Slot>(shared_->opts));
}

PocketsphinxPool::~PocketsphinxPool() { stop(); }

std::string PocketsphinxPool::check_model(const PocketsphinxOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& [path, dir] : {std::pair{or_default(o.hmm, o.model_dir, "en-us"), true},
                                  std::pair{or_default(o.lm, o.model_dir, "en-us.lm.bin"), false},
                                  std::pair{or_default(o.dict, o.model_dir, "cmudict-en-us.dict"), false}}) {
    bool ok = dir ? fs::is_directory(path, ec) : fs::is_regular_file(path, ec);
    if (!ok)
      return "speech model file " + path + " is missing (Debian package pocketsphinx-en-us, or --stt-model-dir)";
  }
  return {};
}

std::unique_ptr<PocketsphinxPool::Stream> PocketsphinxPool::try_acquire() {
  if (shared_->stopped) return nullptr;
  for (auto& s : shared_->slots) {
    bool expected = false;
    if (s->busy.compare_exchange_strong(expected, true)) return std::unique_ptr<Stream>(new Stream(shared_, s.get()));
  }
  return nullptr;
}

std::size_t PocketsphinxPool::size() const { return shared_->slots.size(); }

std::size_t PocketsphinxPool::in_use() const {
  std::size_t n = 0;
  for (const auto& s : shared_->slots) n += s->busy ? 1 : 0;
  return n;
}

void PocketsphinxPool::stop() {
  shared_->stopped = true;
  for (auto& s : shared_->slots) s->worker.stop();
}

PocketsphinxPool::Stream::~Stream() {
  Slot* slot = slot_;
  // An utterance left open (a cancelled stream) is closed on the decoder's thread before the next stream's jobs,
  // which queue behind it on the same thread. If the queue refuses, the next feed finds in_utt and ends it.
  slot->worker.try_post([slot] {
    if (slot->in_utt && slot->ps) ps_end_utt(slot->ps.get());
    slot->in_utt = false;
  });
  slot->busy = false;
}

boost::asio::awaitable<SttHypothesis> PocketsphinxPool::Stream::feed(std::vector<std::int16_t> pcm16k,
                                                                     std::chrono::milliseconds timeout) {
  Slot* slot = slot_;
  auto job = [slot, pcm = std::move(pcm16k)]() -> SttHypothesis {
    SttHypothesis h;
    ps_decoder_t* ps = decoder(*slot);
    if (!ps) {
      h.error = slot->init_error;
      return h;
    }
    if (!slot->in_utt) {
      if (ps_start_utt(ps) < 0) {
        h.error = "pocketsphinx could not start an utterance";
        return h;
      }
      slot->in_utt = true;
    }
    if (ps_process_raw(ps, pcm.data(), pcm.size(), FALSE, FALSE) < 0) {
      h.error = "pocketsphinx refused the audio";
      return h;
    }
    int32 score = 0;
    const char* hyp = ps_get_hyp(ps, &score);
    if (hyp) h.text = hyp;
    return h;
  };
  WorkerRunOptions opts{true, timeout};
  auto h = co_await slot->worker.run(std::move(job), opts);
  co_return h;
}

boost::asio::awaitable<SttHypothesis> PocketsphinxPool::Stream::end_utterance(std::chrono::milliseconds timeout) {
  Slot* slot = slot_;
  auto job = [slot]() -> SttHypothesis {
    SttHypothesis h;
    ps_decoder_t* ps = slot->ps.get();
    if (!ps || !slot->in_utt) return h;
    slot->in_utt = false;
    if (ps_end_utt(ps) < 0) {
      h.error = "pocketsphinx could not end the utterance";
      return h;
    }
    int32 score = 0;
    const char* hyp = ps_get_hyp(ps, &score);
    if (hyp) h.text = hyp;
    if (!h.text.empty()) {
      // The utterance's posterior (from the lattice) shrinks with its length: per word, its geometric mean.
      double words = 1;
      for (char c : h.text) words += c == ' ' ? 1 : 0;
      double ln = logmath_log_to_ln(ps_get_logmath(ps), ps_get_prob(ps));
      h.confidence = std::exp(ln / words);
    }
    return h;
  };
  WorkerRunOptions opts{true, timeout};
  auto h = co_await slot->worker.run(std::move(job), opts);
  co_return h;
}

}  // namespace dp::io

namespace dp::io {

boost::asio::awaitable<std::string> PocketsphinxPool::Stream::cmn_state() {
  Slot* slot = slot_;
  auto job = [slot]() -> std::string {
    ps_decoder_t* ps = slot->ps.get();
    if (!ps) return {};
    feat_t* f = ps_get_feat(ps);
    if (!f || !f->cmn_struct) return {};
    std::string out;
    for (int i = 0; i < f->cmn_struct->veclen; ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.2f", i ? "," : "", static_cast<double>(MFCC2FLOAT(f->cmn_struct->cmn_mean[i])));
      out += buf;
    }
    return out;
  };
  auto s = co_await slot->worker.run(std::move(job));
  co_return s;
}

}  // namespace dp::io

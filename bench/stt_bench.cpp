// The embedded recognizer's accuracy and capacity on this machine (docs/media.md, "Transcribe"). Not a CI test.
//
//   cmake --build build --target stt_bench && build/stt_bench [max_concurrent=4]
//
// Sentences are spoken by flite (voice slt, 16 kHz). Accuracy: word error rate (Levenshtein over words) of the
// 16 kHz rendering fed directly, and of the telephony path dialplane sees (sox to 8 kHz µ-law, core/g711 decode,
// core/resample ×2), through io::PocketsphinxPool exactly as the transcribe session feeds it (200 ms chunks).
// Capacity: N streams decoding at once (N decoders, one thread each), real-time factor = decode wall time /
// audio time, and the process's RSS after the decoders were created.
#include "core/g711.hpp"
#include "core/resample.hpp"
#include "io/media/pocketsphinx_recognizer.hpp"

#include <boost/asio.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dp::io::PocketsphinxPool;

namespace {

const std::vector<std::string> kSentences{
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning about the invoice.",
    "Seven purple elephants were dancing in the garden.",
    "Thank you for calling and have a wonderful day.",
    "I would like to check the status of my order.",
    "The meeting has been moved to three o'clock on Friday.",
    "Can you send the report to my email address today?",
    "We are sorry but all of our agents are busy right now.",
};

// Other texts, for measuring the telephony CMN (DP_BENCH_TUNE=1) without touching the reported set.
const std::vector<std::string> kTuneSentences{
    "Hello, this is Anna from the billing department.",
    "My account number is four five six seven.",
    "The train to Boston leaves at half past nine.",
    "I cannot hear you very well, could you repeat that?",
    "Our office is open from Monday to Saturday.",
    "He said the package would arrive next week.",
};

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Audio {
  std::vector<std::int16_t> direct16k;     // flite's own 16 kHz
  std::vector<std::int16_t> telephony16k;  // 8 kHz µ-law raised to 16 kHz
};

Audio render(const std::string& text, const std::string& dir) {
  std::string txt = dir + "/t.txt", wav = dir + "/t.wav", raw = dir + "/t.raw", ul = dir + "/t.ul";
  std::ofstream(txt) << text;
  std::string cmd = "flite -voice slt -f '" + txt + "' -o '" + wav + "' && sox -R -D '" + wav + "' -r 16000 -c 1 -e signed -b 16 -t raw '" +
                    raw + "' && sox -R -D '" + wav + "' -r 8000 -c 1 -e mu-law -t raw '" + ul + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::cerr << "flite/sox failed\n";
    std::exit(2);
  }
  Audio a;
  auto r = read_file(raw);
  a.direct16k.resize(r.size() / 2);
  std::memcpy(a.direct16k.data(), r.data(), a.direct16k.size() * 2);
  std::vector<std::int16_t> pcm8;
  for (auto b : read_file(ul)) pcm8.push_back(dp::core::g711::ulaw_to_linear(b));
  if (std::getenv("DP_BENCH_SOX_UP")) {  // sox's resampler instead of core/resample (comparison)
    std::string up16 = dir + "/t16.raw";
    std::string c2 = "sox -R -D -t raw -r 8000 -e mu-law -b 8 -c 1 '" + ul + "' -r 16000 -e signed -b 16 -t raw '" + up16 + "'";
    if (std::system(c2.c_str()) != 0) std::exit(2);
    auto u = read_file(up16);
    a.telephony16k.resize(u.size() / 2);
    std::memcpy(a.telephony16k.data(), u.data(), a.telephony16k.size() * 2);
  } else {
    dp::core::Upsampler up(2);
    up.process(pcm8, a.telephony16k);
  }
  std::vector<std::int16_t> tail(4000, 0);  // 250 ms of silence after the sentence
  a.direct16k.resize(a.direct16k.size() + 4000, 0);
  a.telephony16k.resize(a.telephony16k.size() + 4000, 0);
  return a;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'') {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

// Word-level edit distance.
std::size_t edits(const std::vector<std::string>& r, const std::vector<std::string>& h) {
  std::vector<std::size_t> prev(h.size() + 1), cur(h.size() + 1);
  for (std::size_t j = 0; j <= h.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= r.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= h.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[h.size()];
}

asio::awaitable<std::string> decode(PocketsphinxPool::Stream& s, const std::vector<std::int16_t>& pcm) {
  for (std::size_t i = 0; i < pcm.size(); i += 3200) {
    std::vector<std::int16_t> chunk(pcm.begin() + static_cast<long>(i),
                                    pcm.begin() + static_cast<long>(std::min(pcm.size(), i + 3200)));
    auto h = co_await s.feed(std::move(chunk), 60s);
    if (!h.error.empty()) throw std::runtime_error(h.error);
  }
  auto fin = co_await s.end_utterance(60s);
  co_return fin.text;
}

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int max_n = argc > 1 ? std::atoi(argv[1]) : 4;
  std::vector<std::string> extra(argv + std::min(argc, 2), argv + argc);  // pocketsphinx options to try
  char tmpl[] = "/tmp/stt_bench_XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::vector<Audio> audio;
  double audio_s = 0;
  bool tune = std::getenv("DP_BENCH_TUNE") != nullptr;
  const auto& sentences = tune ? kTuneSentences : kSentences;
  for (const auto& s : sentences) {
    audio.push_back(render(s, dir));
    audio_s += static_cast<double>(audio.back().telephony16k.size()) / 16000.0;
  }
  std::printf("%zu sentences, %.1f s of audio; %ld online CPUs\n", sentences.size(), audio_s,
              sysconf(_SC_NPROCESSORS_ONLN));

  long rss0 = rss_kb();
  dp::io::PocketsphinxOptions o;
  o.decoders = static_cast<std::size_t>(std::max(max_n, 2));
  o.extra_args = extra;
  PocketsphinxPool pool(o);
  asio::io_context ioc;

  // Accuracy: one decoder per path (a decoder's cepstral mean adapts to what it hears, as on a call's leg).
  {
    auto s = pool.try_acquire();
    auto s_tel = pool.try_acquire();
    std::size_t e_direct = 0, e_tel = 0, n = 0;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
      std::string hd, ht;
      if (!tune) {  // tune: the telephony path only, so the CMN printed is telephony's
        asio::co_spawn(ioc, decode(*s, audio[i].direct16k), [&](std::exception_ptr e, std::string t) {
          if (e) std::rethrow_exception(e);
          hd = t;
        });
        ioc.run();
        ioc.restart();
      }
      asio::co_spawn(ioc, decode(*s_tel, audio[i].telephony16k), [&](std::exception_ptr e, std::string t) {
        if (e) std::rethrow_exception(e);
        ht = t;
      });
      ioc.run();
      ioc.restart();
      auto r = words(sentences[i]);
      auto ed = edits(r, words(hd)), et = edits(r, words(ht));
      e_direct += ed;
      e_tel += et;
      n += r.size();
      std::printf("  %-58s | 16k: %-58s (%zu) | 8k ulaw: %s (%zu)\n", sentences[i].c_str(), hd.c_str(), ed,
                  ht.c_str(), et);
    }
    std::string cmn;
    asio::co_spawn(ioc, s_tel->cmn_state(), [&](std::exception_ptr, std::string c) { cmn = c; });
    ioc.run();
    ioc.restart();
    std::printf("CMN after these sentences: %s\n", cmn.c_str());
    std::printf("WER flite 16 kHz direct: %.1f %% (%zu/%zu); 8 kHz G.711 mu-law -> 16 kHz: %.1f %% (%zu/%zu)\n",
                100.0 * static_cast<double>(e_direct) / static_cast<double>(n), e_direct, n,
                100.0 * static_cast<double>(e_tel) / static_cast<double>(n), e_tel, n);
  }

  // Capacity: N streams at once, each decoding every sentence (telephony path).
  for (int k = 1; k <= max_n; ++k) {
    std::vector<std::unique_ptr<PocketsphinxPool::Stream>> streams;
    for (int i = 0; i < k; ++i) streams.push_back(pool.try_acquire());
    // warm: every decoder created before timing
    for (auto& s : streams) {
      asio::co_spawn(ioc, decode(*s, audio[0].telephony16k), asio::detached);
    }
    ioc.run();
    ioc.restart();
    auto t0 = std::chrono::steady_clock::now();
    for (auto& s : streams) {
      asio::co_spawn(
          ioc,
          [&, sp = s.get()]() -> asio::awaitable<void> {
            for (const auto& a : audio) {
              auto text = co_await decode(*sp, a.telephony16k);
              (void)text;
            }
          },
          asio::detached);
    }
    ioc.run();
    ioc.restart();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double rtf = wall / audio_s;  // per stream: each decoded audio_s of speech in `wall`
    std::printf("concurrent streams %d: wall %.2f s for %.1f s of speech each -> RTF %.2f per stream, "
                "%.1f streams of continuous speech in real time at this load; RSS %ld MB\n",
                k, wall, audio_s, rtf, static_cast<double>(k) / rtf, rss_kb() / 1024);
  }
  long rss1 = rss_kb();
  int n = std::max(max_n, 2);
  std::printf("RSS: %ld MB before the decoders, %ld MB with %d decoders -> %.0f MB per decoder\n", rss0 / 1024,
              rss1 / 1024, n, static_cast<double>(rss1 - rss0) / 1024.0 / n);
  std::string rm = "rm -rf '" + dir + "'";
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}

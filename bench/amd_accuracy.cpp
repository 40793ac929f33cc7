// Accuracy of the embedded answering-machine detector (WebrtcVad + core/amd_detector) over one corpus split made
// by scripts/amd-corpus/generate.py: reads its labels.tsv (wav, truth human|machine, beep 0|1), runs every clip
// as if the call had just been answered, and prints the table that docs/amd.md publishes.
//
// Usage: amd_accuracy SPLIT_DIR [--vad N (Params::vad_aggressiveness)] [--set knob=value]... [--verbose] [--min-accuracy PCT]
//   --min-accuracy: exit 1 when the accuracy is below PCT (the cheap check in scripts/run-tests.sh).
#include "core/amd_detector.hpp"
#include "io/media/webrtc_vad.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {
using dp::core::amd::Params;

struct Clip {
  std::string wav;
  std::string truth;  // human | machine
  bool beep = false;
};

struct Outcome {
  std::string decision;  // human | machine | none
  int latency_ms = -1;
  bool tone = false;
  std::string events;
  long frames = 0;
};

std::vector<std::int16_t> read_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::int16_t> pcm;
  // RIFF chunks after the 12-byte header: find "data" (8 kHz mono 16-bit, as the generator writes).
  std::size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    std::uint32_t len = 0;
    std::memcpy(&len, &bytes[pos + 4], 4);
    if (std::memcmp(&bytes[pos], "data", 4) == 0) {
      const std::size_t n = std::min<std::size_t>(len, bytes.size() - pos - 8) / 2;
      pcm.resize(n);
      std::memcpy(pcm.data(), &bytes[pos + 8], n * 2);
      break;
    }
    pos += 8 + len + (len & 1U);
  }
  return pcm;
}

std::vector<Clip> read_labels(const std::string& dir) {
  std::ifstream in(dir + "/labels.tsv");
  std::vector<Clip> clips;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Clip c;
    int beep = 0;
    ls >> c.wav >> c.truth >> beep;
    c.beep = beep != 0;
    c.wav = dir + "/" + c.wav;
    clips.push_back(c);
  }
  return clips;
}

void record(Outcome& o, const dp::core::amd::Event& e) {
  o.events += (o.events.empty() ? "" : ",") + e.type + "@" + std::to_string(e.at_ms);
  if (e.type == "amd_tone_detected") o.tone = true;
  if (o.decision != "none") return;
  if (e.type == "amd_human_detected") o.decision = "human";
  if (e.type == "amd_machine_detected") o.decision = "machine";
  if (o.decision != "none") o.latency_ms = e.at_ms;
}

// The clip from the answer on, then silence (the line after the greeting) until the detector stops.
Outcome run_clip(const Clip& c, const Params& p, int vad_mode) {
  dp::io::WebrtcVad vad(vad_mode);
  dp::core::amd::Detector d(p);
  Outcome o{"none", -1, false, "", 0};
  auto pcm = read_wav(c.wav);
  const std::size_t frame = dp::core::amd::kFrameSamples;
  pcm.resize(std::max(pcm.size(), std::size_t{30 * 8000}) / frame * frame, 0);
  for (std::size_t i = 0; i + frame <= pcm.size() && !d.stopped(); i += frame) {
    std::span<const std::int16_t> f(&pcm[i], frame);
    for (const auto& e : d.push(f, vad.is_voice(f))) record(o, e);
    ++o.frames;
  }
  for (const auto& e : d.stop()) record(o, e);
  return o;
}

int percentile(std::vector<int> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

bool set_knob(Params& p, const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos) return false;
  const std::string k = kv.substr(0, eq);
  const double v = std::atof(kv.c_str() + eq + 1);
  std::map<std::string, int*> ints{{"min_word_ms", &p.min_word_ms},
                                   {"between_words_ms", &p.between_words_ms},
                                   {"after_greeting_silence_ms", &p.after_greeting_silence_ms},
                                   {"max_greeting_ms", &p.max_greeting_ms},
                                   {"words_per_segment", &p.words_per_segment},
                                   {"threshold_word_count", &p.threshold_word_count},
                                   {"beep_min_ms", &p.beep_min_ms},
                                   {"beep_max_drift_hz", &p.beep_max_drift_hz}};
  if (auto it = ints.find(k); it != ints.end()) {
    *it->second = static_cast<int>(v);
    return true;
  }
  if (k == "beep_min_purity") p.beep_min_purity = v;

  else if (k == "beep_min_rms") p.beep_min_rms = v;
  else return false;
  return true;
}

double pct(int n, int d) { return d == 0 ? 0 : 100.0 * n / d; }

struct Tally {
  int clips = 0, correct = 0, humans = 0, machines = 0, false_machine = 0, false_human = 0, none = 0;
  int beeps = 0, beeps_found = 0, false_tones = 0;
  std::vector<int> latency, latency_human, latency_machine;
  void add(const Clip& c, const Outcome& o) {
    ++clips;
    (c.truth == "human" ? humans : machines)++;
    if (o.decision == c.truth) ++correct;
    if (c.truth == "human" && o.decision == "machine") ++false_machine;
    if (c.truth == "machine" && o.decision == "human") ++false_human;
    if (o.decision == "none") ++none;
    if (c.beep) beeps_found += o.tone ? 1 : 0;
    if (!c.beep && o.tone) ++false_tones;
    beeps += c.beep ? 1 : 0;
    if (o.latency_ms < 0) return;
    latency.push_back(o.latency_ms);
    (o.decision == "human" ? latency_human : latency_machine).push_back(o.latency_ms);
  }
};

void print_table(const Tally& t) {
  std::printf("| metric | value |\n|---|---|\n");
  std::printf("| clips (human / machine, with beep) | %d (%d / %d, %d) |\n", t.clips, t.humans, t.machines, t.beeps);
  std::printf("| accuracy | %.1f %% (%d/%d) |\n", pct(t.correct, t.clips), t.correct, t.clips);
  std::printf("| false-machine rate (humans called machine) | %.1f %% (%d/%d) |\n", pct(t.false_machine, t.humans),
              t.false_machine, t.humans);
  std::printf("| false-human rate (machines called human) | %.1f %% (%d/%d) |\n", pct(t.false_human, t.machines),
              t.false_human, t.machines);
  std::printf("| no-decision rate | %.1f %% (%d/%d) |\n", pct(t.none, t.clips), t.none, t.clips);
  std::printf("| beep detection rate | %.1f %% (%d/%d); false beeps %d |\n", pct(t.beeps_found, t.beeps),
              t.beeps_found, t.beeps, t.false_tones);
  std::printf("| decision latency from answer, p50 / p95 | %d / %d ms |\n", percentile(t.latency, 0.5),
              percentile(t.latency, 0.95));
  std::printf("| human decisions p50 / p95 | %d / %d ms |\n", percentile(t.latency_human, 0.5),
              percentile(t.latency_human, 0.95));
  std::printf("| machine decisions p50 / p95 | %d / %d ms |\n", percentile(t.latency_machine, 0.5),
              percentile(t.latency_machine, 0.95));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SPLIT_DIR [--vad N] [--set knob=value]... [--verbose] [--min-accuracy PCT]\n",
                 argv[0]);
    return 2;
  }
  Params p;
  int vad_mode = p.vad_aggressiveness;
  bool verbose = false;
  double floor = -1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--vad" && has_value) vad_mode = std::atoi(argv[++i]);
    else if (a == "--set" && has_value && set_knob(p, argv[i + 1])) ++i;
    else if (a == "--min-accuracy" && has_value) floor = std::atof(argv[++i]);
    else if (a == "--verbose") verbose = true;
    else {
      std::fprintf(stderr, "bad argument: %s\n", a.c_str());
      return 2;
    }
  }
  const auto clips = read_labels(argv[1]);
  if (clips.empty()) {
    std::fprintf(stderr, "no clips in %s/labels.tsv\n", argv[1]);
    return 2;
  }
  Tally t;
  long frames = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& c : clips) {
    const auto o = run_clip(c, p, vad_mode);
    frames += o.frames;
    t.add(c, o);
    if (verbose || (floor >= 0 && o.decision != c.truth))
      std::printf("%s %s beep=%d -> %s %s\n", c.wav.c_str(), c.truth.c_str(), c.beep ? 1 : 0, o.decision.c_str(),
                  o.events.c_str());
  }
  const std::chrono::duration<double, std::micro> spent = std::chrono::steady_clock::now() - t0;
  print_table(t);
  std::printf("(%ld frames of 20 ms analysed, %.1f us per frame including WAV reading)\n", frames,
              spent.count() / static_cast<double>(std::max(1L, frames)));
  if (floor >= 0 && pct(t.correct, t.clips) < floor) {
    std::printf("accuracy below the floor of %.1f %%\n", floor);
    return 1;
  }
  return 0;
}

#include "util/progress_display.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace cesync::util {
namespace {

// Past this an estimate says nothing (and would overflow the conversion to whole seconds).
constexpr double kMaxEtaSeconds = 1e8;
// Added before flooring a share, so that e.g. 0.29 * 100 == 28.999999999999996 shows as 29%.
constexpr double kFloorSlack = 1e-9;

void appendTwoDigits(std::string& out, std::int64_t v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

std::string formatDuration(std::chrono::seconds d) {
  const std::int64_t total = std::max<std::int64_t>(0, d.count());
  const std::int64_t hours = total / 3600;
  const std::int64_t minutes = total % 3600 / 60;
  std::string out;
  if (hours > 0) {
    out = std::to_string(hours);
    out.push_back(':');
    appendTwoDigits(out, minutes);
  } else {
    out = std::to_string(minutes);
  }
  out.push_back(':');
  appendTwoDigits(out, total % 60);
  return out;
}

std::string formatCount(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out.push_back(',');
    }
    out.push_back(digits[i]);
  }
  return out;
}

ProgressDisplay::ProgressDisplay(Options options, Writer write, const Clock& clock)
    : options_(std::move(options)), write_(std::move(write)), clock_(clock), start_(clock.now()) {}

void ProgressDisplay::update(const Progress& progress) {
  const std::lock_guard lock(mutex_);
  if (finished_) {
    return;
  }
  absorb(progress);
  const Clock::TimePoint now = clock_.now();
  if (options_.mode == Mode::kLines) {
    if (now - last_write_.value_or(start_) < options_.line_interval) {
      return;
    }
    write_(render(now, false));
    last_write_ = now;
    return;
  }
  // Checking the time first keeps the common case (a worker reporting within the interval) free of
  // formatting.
  if (last_write_ && now - *last_write_ < options_.redraw_interval) {
    return;
  }
  std::string text = render(now, false);
  if (text == last_text_) {
    return;
  }
  draw(text);
  last_text_ = std::move(text);
  last_write_ = now;
}

void ProgressDisplay::finish(const Progress& progress) {
  const std::lock_guard lock(mutex_);
  if (finished_) {
    return;
  }
  finished_ = true;
  absorb(progress);
  std::string text = render(clock_.now(), true);
  if (options_.mode == Mode::kLines) {
    write_(text);
    return;
  }
  draw(text);
  write_("\n");
  last_text_ = std::move(text);
}

ProgressDisplay::Mode ProgressDisplay::detect(int fd) {
  return modeFor(::isatty(fd) != 0, std::getenv("TERM"));
}

ProgressDisplay::Mode ProgressDisplay::modeFor(bool is_terminal, const char* term) {
  const bool dumb = term != nullptr && std::string_view(term) == "dumb";
  return is_terminal && !dumb ? Mode::kTerminal : Mode::kLines;
}

void ProgressDisplay::absorb(const Progress& progress) {
  items_ = std::max(items_, progress.items);
  // A negative or NaN fraction is unknown; it does not hide one reported earlier.
  if (progress.fraction >= 0) {
    fraction_ = std::max(fraction_.value_or(0.0), std::min(progress.fraction, 1.0));
  }
}

std::string ProgressDisplay::render(Clock::TimePoint now, bool done) const {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const auto rate =
      elapsed > 0 ? static_cast<std::uint64_t>(std::llround(static_cast<double>(items_) / elapsed))
                  : std::uint64_t{0};

  std::string when;
  if (done) {
    when = "took " + formatDuration(std::chrono::seconds(std::llround(std::max(elapsed, 0.0))));
  } else if (fraction_ && *fraction_ > 0) {
    const double eta = elapsed * (1 - *fraction_) / *fraction_;
    when = eta <= kMaxEtaSeconds ? "ETA " + formatDuration(std::chrono::seconds(std::llround(eta)))
                                 : "ETA --";
  } else {
    when = "ETA --";
  }

  // Floor, so that 100% is shown only when all is done.
  const auto percent =
      fraction_ ? static_cast<int>(std::floor(*fraction_ * 100 + kFloorSlack)) : -1;
  const std::string percent_text = percent >= 0 ? std::to_string(percent) + "%" : "?%";

  std::string out = options_.label;
  if (options_.mode == Mode::kLines) {
    out += ": " + percent_text + " (" + std::to_string(items_) + " " + options_.unit + ", " +
           std::to_string(rate) + " " + options_.unit + "/s, " + when + ")";
    return out;
  }
  const int width = std::max(options_.width, 1);
  const int filled = fraction_ ? static_cast<int>(std::floor(*fraction_ * width + kFloorSlack)) : 0;
  if (!out.empty()) {
    out.push_back(' ');
  }
  out.push_back('[');
  out.append(static_cast<std::size_t>(filled), '#');
  out.append(static_cast<std::size_t>(width - filled), '.');
  out.push_back(']');
  // Right-aligned in four columns so that the rest of the line does not shift as it grows.
  out.append(1 + 4 - percent_text.size(), ' ');
  out += percent_text + "  " + formatCount(items_) + " " + options_.unit + "  " +
         formatCount(rate) + " " + options_.unit + "/s  " + when;
  return out;
}

void ProgressDisplay::draw(const std::string& text) {
  std::string out = "\r" + text;
  // Blank out what is left of a longer previous line.
  if (text.size() < last_width_) {
    out.append(last_width_ - text.size(), ' ');
  }
  last_width_ = text.size();
  write_(out);
}

}  // namespace cesync::util

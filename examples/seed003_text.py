"""Seed 003's text generation: a character-level LSTM trained on Python's own standard library.

The text is the source of a few standard-library modules, read from this Python installation —
nothing is downloaded. Samples at several temperatures show the trade-off between safe and
surprising text; perplexity on held-out text says how well the model predicts.

    python examples/seed003_text.py
"""

import time

from lstmkit import TextGenerator
from lstmkit.datasets import stdlib_text
from lstmkit.text import uniform_guess

text = stdlib_text(184_000)
cut = int(len(text) * 0.9)
train, held = text[:cut], text[cut:]

t0 = time.perf_counter()
gen = TextGenerator(hidden_size=128, seq_len=50, batch_size=32, epochs=8, learning_rate=0.01, seed=0).fit(train)
print(f"{gen.n_updates_} updates in {time.perf_counter() - t0:.1f} s; loss per epoch:",
      " ".join(f"{e['loss']:.2f}" for e in gen.history_.epochs))  # fmt: skip
print(f"held-out perplexity {gen.perplexity(held):.2f} ({uniform_guess(gen)})")  # vocab_ less its "unknown" slot
for t in (0.3, 0.6, 0.9, 1.2):
    print(f"\n--- temperature {t} ---")
    print(gen.generate("def ", 300, temperature=t, seed=0))

"""A tiny stand-in for the human-rated corpora, for tests that train: ten rated texts per corpus (rater
mean on -4..+4), so the 20 % held out keeps two of each."""

from __future__ import annotations

from sentiment.data import Example

ROWS = {
    "tweets": [(3.0, "I love it, wonderful"), (2.5, "great service, thank you"), (2.8, "amazing, so happy"),
               (-3.0, "terrible, I hate it"), (-2.6, "awful experience, never again"), (0.0, "it is a blue box"),
               (0.2, "the train leaves at noon"), (-2.2, "bad and broken"), (2.1, "nice people, good food"),
               (0.1, "the shop is on main street")],
    "amazon": [(2.9, "works perfectly, five stars"), (-2.9, "broke after a day, useless"),
               (0.0, "it comes in a box of ten"), (2.2, "very good value"), (-2.4, "cheap and flimsy"),
               (0.3, "the cable is two metres long"), (2.6, "my kids love it"), (-2.0, "stopped working"),
               (0.0, "sold in three colours"), (1.8, "does the job well")],
}
RATED = {corpus: [Example(corpus, f"{corpus}{i}", mean, text) for i, (mean, text) in enumerate(rows)]
         for corpus, rows in ROWS.items()}

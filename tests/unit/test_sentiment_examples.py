"""Staff-labelled examples blended into the zero-shot similarities, with hand-made numbers."""

from __future__ import annotations

import numpy as np

from sentiment.examples import EXAMPLE_MIN_SIMILARITY, NO_SIMILARITY, Examples, blend


def test_a_near_paraphrase_example_raises_its_label_and_a_distant_one_does_not() -> None:
    description = np.array([[0.30, 0.40], [0.30, 0.40]])
    example = np.array([[0.95, NO_SIMILARITY], [EXAMPLE_MIN_SIMILARITY - 0.01, NO_SIMILARITY]])
    out = blend(description, example)
    assert out.tolist() == np.array([[0.95, 0.40], [0.30, 0.40]], dtype=np.float32).tolist()


def test_a_closer_counter_example_takes_the_label_away() -> None:
    description = np.array([[0.50], [0.50], [0.50]])
    example = np.array([[NO_SIMILARITY], [0.90], [NO_SIMILARITY]])
    counter = np.array([[0.98], [0.80], [0.60]])  # closer than anything with the topic; further; not near
    assert blend(description, example, counter)[:, 0].tolist() == [0.0, np.float32(0.9), 0.5]


def test_nearest_takes_the_best_example_of_each_label() -> None:
    examples = Examples(np.eye(3, dtype=np.float32), ("complaint", None, "complaint"), ((), (), ()), ((), (), ()))
    sims = np.array([[0.2, 0.9, 0.8]])
    labels = [(i,) if i else () for i in examples.intents]
    out = examples.nearest(sims, ("complaint", "praise"), labels)
    assert out.tolist() == [[np.float32(0.8), NO_SIMILARITY]]
    assert examples.intent_names() == ("complaint",)
    assert examples.same_as(examples) and not examples.same_as(None)
    assert Examples(np.zeros((0, 3), np.float32), (), (), ()).same_as(None)

"""``TextGenerator``: seed 003's character-level LSTM that writes text (after Karpathy's char-rnn).

    vocabulary   V characters seen at fit (sorted) plus index 0 = "unknown" for characters never seen
    x_t          one-hot of character t                                      (V,)
    h_t, c_t     the LSTM (lstmkit.LSTM), num_layers deep
    z_t          W h_t + b,  p(char_{t+1} | char_{<=t}) = softmax(z_t)       (V,)
    loss         mean over positions of -log p(char_{t+1})   (softmax cross-entropy; natural log:
                 nats per character, / ln 2 for bits per character)

Training uses **truncated back-propagation through time**: the text is cut into ``batch_size``
parallel streams of n = (len(text) - 1) // batch_size characters (the last (len(text) - 1) %
batch_size are left out); each update reads the next ``seq_len`` characters of every stream,
starting from the state the previous chunk ended in (carried forward, but not back-propagated
through). The streams are one batch of the :class:`lstmkit.Trainer`, which starts each batch from
a zero state: the state is carried across the chunks of an epoch and reset at each epoch's start.

Sampling: with temperature τ and top-k,

    p_k ∝ exp((z_k - max z) / τ)  for the k largest z (others 0); "unknown" is never sampled.

(the largest subtracted before dividing by τ: each exponent is <= 0, so a tiny τ, 1e-310 say, gives
the likeliest character with probability 1 rather than inf - inf = NaN; the same distribution as
exp(z_k / τ) normalised.)

After the prime (one pass of the model over it), each character runs one step of the LSTM's
stream (``lstm.stream()``: one compiled step per character, no per-call set-up) and the read-out.

``perplexity(text) = exp(mean_t -log p(char_{t+1}))`` on held-out text (state carried across the
whole text); a uniform guess over the V - 1 characters seen at fit scores V - 1
(:func:`uniform_guess` says so).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ._checks import LstmkitWarning, check_int, check_real, check_rng, fail, is_int, run_seed
from .estimators import NotFittedError, check_hyper_parameters, file_history, json_params, keyword_only, with_defaults
from .models import check_lstm_options
from .saving import register
from .training import check_stream

KIND = "TextGenerator"
UNKNOWN = "\x00"  # vocabulary entry 0: any character not seen at fit


def min_text_length(batch_size: int, seq_len: int) -> int:
    """The fewest characters ``fit`` trains on: a chunk of seq_len for each of batch_size
    streams, and the character after the last (the last target)."""
    return batch_size * seq_len + 1


def uniform_guess(gen: "TextGenerator") -> str:
    """What a perplexity is read against, as ``lstmkit generate`` and ``lstmkit demo`` print it:
    "a uniform guess over the 23 characters: 23". The characters are those seen at fit
    (``vocab_`` less its entry 0, "unknown", which is never sampled); a guess spread evenly over
    them scores their number."""
    n = len(gen.vocab_) - 1
    return f"a uniform guess over the {n} characters: {n}"


class TextWarning(LstmkitWarning):
    """Text read otherwise than written: characters of a prime (or of a text scored by perplexity)
    never seen at fit, read as "unknown"; NUL characters in a training text (learned as "unknown");
    a str given to fit or perplexity that names an existing file (read as the text itself)."""


#: how to sample greedily, said when a temperature of 0 or below is refused (0 means greedy to some tools);
#: ``{}``: top_k = 1 as the caller writes it ("top_k=1", lstmkit generate's "--top-k 1")
GREEDY = "For greedy decoding (always the likeliest character) use {}"
#: the settings :meth:`TextGenerator.fit` records only when set, each with the test of its unset value (a
#: checkpoint written before they were parameters records neither, and resumes); lstmkit generate reads one
#: missing from a side as unset there ("no --patience")
UNSET_OMITTED = {"validation_split": lambda v: not v, "patience": lambda v: v is None}


def check_temperature(value, where: str) -> float:
    """A sampling temperature as float: a finite number > 0 (:func:`lstmkit._checks.check_real`); a
    finite one <= 0 is refused saying how to decode greedily (:data:`GREEDY`)."""
    try:
        return check_real(value, where, "temperature", low=0, low_open=True)
    except ValueError as exc:  # a number: NaN and inf are no request for greedy decoding
        if math.isfinite(value) and value <= 0:
            raise ValueError(f"{exc} {GREEDY.format('top_k=1')}.") from None
        raise


#: the longest str :func:`_as_text` checks for a file's name (a path longer than this is no path: PATH_MAX)
PATH_MAX = 4096


def _as_text(text, where: str) -> str:
    """A str, or the UTF-8 content of a path (``os.PathLike``). A str is the text itself, even one
    that names a file; when it does (one line naming an existing file, as ``fit("input.txt")``
    from char-rnn's habits), a :class:`TextWarning` says so and how to read the file
    (``pathlib.Path``): warned, not refused, as a str is a text and a short one may be a name."""
    if isinstance(text, os.PathLike):
        from .tables import read_text

        return read_text(text)
    if not isinstance(text, str):
        fail(where, "text", "a str or a path (pathlib.Path)", type(text).__name__, exc=TypeError)
    if text and len(text) <= PATH_MAX and "\n" not in text and os.path.isfile(text):
        warnings.warn(f"{where}: text is a str that names an existing file, {text!r}: it is read as the text itself "
                      f"({len(text)} characters), not as the file's content. Pass pathlib.Path({text!r}) to read the "
                      f"file.", TextWarning, stacklevel=3)  # fmt: skip
    return text


def _warn_unseen(unseen: list[str], where: str, what: str, why: str, stacklevel: int) -> None:
    """:meth:`TextGenerator.warn_unseen`'s warning for the list ``unseen`` (nothing when empty);
    ``stacklevel``: warnings.warn's, from this function (2: the line calling it). fit calls it
    before its vocabulary is the generator's."""
    n = len(unseen)
    if n:
        shown = ", ".join(repr(ch) for ch in unseen[:10]) + (f" and {n - 10} more" if n > 10 else "")
        warnings.warn(f"{where}: {what} has {n} character{'s' if n != 1 else ''} not in the vocabulary (never seen at "
                      f"fit): {shown}; the model reads {'them' if n != 1 else 'it'} as 'unknown', {why}", TextWarning,
                      stacklevel=stacklevel)  # fmt: skip


@register
class TextGenerator:
    """Character-level LSTM language model. Parameters:

    hidden_size, num_layers, dropout : the LSTM's
    seq_len : int           characters per truncated-BPTT chunk
    batch_size : int        parallel text streams per update
    epochs : int            passes over the text (each pass: ceil(n / seq_len) updates, n the
                            characters of each stream, (len(text) - 1) // batch_size: see fit)
    forget_bias : float     initial forget-gate bias (None: uniform initialisation)
    lstm_options : dict     proj_size and the LSTM variants, e.g. {"layer_norm": True,
                            "dropout_recurrent": 0.25} (see :class:`lstmkit.LSTMClassifier`)
    optimizer, learning_rate, clip : the update rule (global-norm clipping, None for none)
    seed : int|None|Generator  initialisation (training order is fixed by the text); a
                            numpy.random.Generator seeds each fit with its next draw (saved as None)
    validation_split : float  the fraction of the text held out of training, taken from its end
                            (not shuffled: the characters in order), scored after each epoch as
                            ``val_loss`` (nats per character; exp of it is the perplexity) in the
                            progress and ``history_``; 0 (default): none
    patience : int|None     early stopping (as the estimators'): stop after this many epochs
                            without improvement of val_loss (of the training loss without a
                            validation_split), keeping the best epoch's weights; None (default): off

    Learned: ``vocab_`` (str, index 0 is "unknown"), ``model_`` (SequenceModel), ``history_``
    (:class:`lstmkit.History`, one entry per epoch; also ``training_history_``, as the forecaster names it), ``n_updates_``, ``n_train_chars_``
    (the characters of the training part, the text less ``validation_split``'s end; set by fit,
    not saved: a loaded generator has none), ``fitted_params_`` (the
    parameters at fit, as JSON: what ``save`` writes; as in scikit-learn, ``set_params`` takes
    effect at the next fit).
    """

    @keyword_only
    def __init__(
        self,
        *,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        seq_len: int = 50,
        batch_size: int = 32,
        epochs: int = 1,
        forget_bias: float | None = 1.0,
        lstm_options: dict | None = None,
        optimizer: str = "adam",
        learning_rate: float = 0.005,
        clip: float | None = 5.0,
        seed: int | None = 0,
        verbose: int = 0,
        validation_split: float = 0.0,  # after verbose: positional calls (FutureWarning) bind as before they existed
        patience: int | None = None,
    ) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.epochs = epochs
        self.forget_bias = forget_bias
        self.lstm_options = lstm_options
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clip = clip
        self.seed = seed
        self.verbose = verbose
        self.validation_split = validation_split
        self.patience = patience

    _param_names = (
        "hidden_size", "num_layers", "dropout", "seq_len", "batch_size", "epochs", "forget_bias", "lstm_options", "optimizer",
        "learning_rate", "clip", "seed", "verbose", "validation_split", "patience",
    )  # fmt: skip

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params) -> "TextGenerator":
        for k, v in params.items():
            if k not in self._param_names:
                fail(KIND, "parameter", f"one of {list(self._param_names)}", repr(k))
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = TextGenerator().get_params()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"TextGenerator({changed})"

    def __setstate__(self, state: dict) -> None:
        """Unpickling: a fitted generator pickled before ``fitted_params_`` was recorded gets it from
        its parameters as pickled (what save wrote before then; without it save raised
        AttributeError), as :class:`~lstmkit.estimators.LSTMRegressor` does. A parameter added
        since the pickle was made (``validation_split``, ``patience``) gets its default first
        (:func:`~lstmkit.estimators.with_defaults`): the generator was trained without it."""
        self.__dict__.update(with_defaults(type(self), state))
        if "model_" in state and "fitted_params_" not in state:
            self.fitted_params_ = json_params(self.get_params())

    @property
    def training_history_(self):
        """The training log, ``history_`` itself (:class:`lstmkit.History`): the name
        :class:`~lstmkit.LSTMForecaster` gives it too (its ``series_`` is the fitted series)."""
        return self.history_

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"TextGenerator.{what}: expected a fitted generator, got one that is not fitted. Call fit(text) first.")

    # -- vocabulary ------------------------------------------------------------------------
    def encode(self, text: str) -> np.ndarray:
        """Characters (``text``, a str of n) -> indices (n,) int64; characters unseen at fit map to 0
        ("unknown")."""
        self._check_fitted("encode")
        if not isinstance(text, str):
            fail(f"{KIND}.encode", "text", "a str", type(text).__name__, "Join the characters into one str first "
                 "(''.join(chars)).", exc=TypeError)  # fmt: skip
        return np.array([self._index.get(ch, 0) for ch in text], dtype=np.int64)

    def decode(self, ids) -> str:
        """Indices (any shape, read in order: ravel) -> a str of as many characters; each an integer
        in [0, len(vocab_) - 1], 0 ("unknown") decoding to U+FFFD. Other types (float, bool, str)
        raise TypeError, indices out of that range ValueError (a negative one included: it is not read from the end)."""
        self._check_fitted("decode")
        where, top = f"{KIND}.decode", len(self.vocab_) - 1
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu" and ids.size:  # (an empty list: float64, nothing to decode)
            fail(where, "ids", "integers (character indices)", f"an array of {ids.dtype}",
                 "Give indices as encode() returns them (int64).", exc=TypeError)  # fmt: skip
        ids = ids.ravel()
        bad = ids[(ids < 0) | (ids > top)] if ids.size else ids
        if bad.size:
            fail(where, "ids", f"indices in [0, {top}] (into vocab_, 0 'unknown')", int(bad[0]),
                 "Give indices from this generator's encode() (a negative one is not read from the end).")
        return "".join("\ufffd" if i == 0 else self.vocab_[i] for i in ids.tolist())

    def unseen(self, text: str) -> list[str]:
        """The characters of ``text`` (a str) not in the vocabulary ``vocab_`` (never seen at fit),
        each once, sorted: a list of 1-character str, empty when every one was seen. :meth:`encode`
        reads them as 0, "unknown"."""
        self._check_fitted("unseen")
        if not isinstance(text, str):
            fail(f"{KIND}.unseen", "text", "a str", type(text).__name__, "Join the characters into one str first "
                 "(''.join(chars)).", exc=TypeError)  # fmt: skip
        return sorted({ch for ch in text if ch not in self._index})

    def warn_unseen(self, text: str, where: str, what: str, why: str, stacklevel: int = 2) -> list[str]:
        """Warn (:class:`TextWarning`, one warning) of the characters of ``text`` (a str) never seen
        at fit (:meth:`unseen`, at most 10 named), read as "unknown"; nothing when every one was
        seen. ``where`` begins the message ("TextGenerator.generate", "generate"), ``what`` names
        the text ("prime", "the held-out text"), ``why`` ends it, what that does to the result
        ("so the perplexity is not that of this text."). ``stacklevel``: warnings.warn's, counted
        from the call of this method (2: the line calling it; 3: its caller's, as :meth:`generate`
        and :meth:`perplexity` point at theirs). Returns :meth:`unseen`'s list."""
        unseen = self.unseen(text)
        _warn_unseen(unseen, where, what, why, stacklevel + 1)
        return unseen

    # -- fit -------------------------------------------------------------------------------
    def fit(self, text, y=None, checkpoint=None, resume: bool = False, on_resume=None, stream=None) -> "TextGenerator":
        """Learn to predict each next character of ``text`` (a str, the text itself, or a path,
        ``pathlib.Path``, read as UTF-8; a str that names an existing file is warned of, a
        :class:`TextWarning`: it is trained on as its own characters). Returns self.

        The text becomes ``batch_size`` streams (rows) of n = (len(text) - 1) // batch_size
        characters each (stream b is characters b*n to (b+1)*n - 1, its targets the characters one
        further on); the last (len(text) - 1) % batch_size characters are left out.
        :class:`lstmkit.Trainer` with ``bptt=seq_len`` and no shuffling walks the streams chunk by
        chunk, carrying the state from one chunk to the next; the streams are one batch, so the
        state starts at zero at each epoch (as the Trainer starts each batch). ceil(n / seq_len)
        updates an epoch; the loss of each epoch (``history_``) is the mean over its characters, in
        nats per character (divide by ln 2 for bits per character). A NUL character ('\\x00') in the
        text is the vocabulary's "unknown" (entry 0): learned as such, never sampled (a
        :class:`TextWarning` says how many).

        ``validation_split`` f > 0: the last len(text) - int(len(text) * (1 - f)) characters (at
        least 2) are held out, the rest trained on as above (its vocabulary the training part's);
        after each epoch ``val_loss`` = mean over the held-out characters of -log p(next char),
        the state carried from its start (zero) through it all, as :meth:`perplexity` reads it:
        ``exp(val_loss)`` is the held-out perplexity of that epoch; held-out characters the training
        part lacks are read as "unknown" (0) and warned of (a :class:`TextWarning`, as
        :meth:`perplexity` warns). ``patience``: the Trainer's
        early stopping on val_loss (on loss without a split), the best epoch's weights kept;
        ``history_`` then holds the epochs run, ``n_updates_`` their updates.

        ``checkpoint``: a path written (atomically) after every epoch. ``resume=True``: if it exists,
        continue from it: with the same text and parameters (only ``epochs`` may grow) the result is
        bit for bit that of an uninterrupted fit; other ones are refused (the Trainer's
        :class:`~lstmkit.checkpoint.ResumeRefused`), the generator left as it was. An interrupt
        (Ctrl-C, KeyboardInterrupt) leaves the checkpoint of the last epoch that ended.
        ``on_resume``: called with the :class:`~lstmkit.training.Trainer` once a resume goes ahead,
        before its first epoch (as in :meth:`lstmkit.Trainer.fit`). ``stream``: where the progress
        goes when ``verbose`` (a text stream, the Trainer's ``stream``; None: ``sys.stdout`` as it
        stands during the fit).
        """
        from .models import SequenceModel
        from .training import Trainer

        where = f"{KIND}.fit"
        stream = check_stream(stream, where)  # (the Trainer's check, in this fit's name)
        params = json_params(self.get_params())  # this fit's: fitted_params_, what save writes
        text = _as_text(text, where)
        check_hyper_parameters(self, KIND)  # seq_len, batch_size, hidden_size, optimizer, ...: named as this class's
        L, B = int(self.seq_len), int(self.batch_size)
        epochs = check_int(self.epochs, KIND, "epochs", minimum=1)  # the shared check allows 0 (load)
        options = check_lstm_options(self.lstm_options, "lstm", KIND)
        split = float(self.validation_split or 0.0)  # checked by check_hyper_parameters: [0, 1)
        cut = int(len(text) * (1 - split)) if split else len(text)
        text, held = text[:cut], text[cut:]  # the held-out text: the end, in order
        if split and len(held) < 2:
            fail(KIND, "validation_split", f"a fraction holding out at least 2 characters of the text's {len(text) + len(held)}",
                 split, "Use a larger validation_split or a longer text.")  # fmt: skip
        if len(text) < min_text_length(B, L):
            got = f"{len(text)} (less {len(held)} held out by validation_split={split:g})" if split else len(text)
            fail(where, "text", f"at least batch_size*seq_len+1 = {min_text_length(B, L)} characters", got,
                 "Use a smaller batch_size or seq_len" + (", or a smaller validation_split." if split else "."))  # fmt: skip
        nul = text.count(UNKNOWN)
        if nul:  # the vocabulary's entry 0: learned as "unknown", which generate never samples
            warnings.warn(f"{where}: text has {nul} NUL character{'s' if nul != 1 else ''} ('\\x00'), the vocabulary's entry "
                          f"for 'unknown' (characters never seen at fit): the model learns {'them' if nul != 1 else 'it'} as "
                          f"'unknown', which generate never samples. Remove them from the text if they are not meant.",
                          TextWarning, stacklevel=2)  # fmt: skip
        vocab = UNKNOWN + "".join(sorted(set(text) - {UNKNOWN}))
        index = {ch: i for i, ch in enumerate(vocab)}
        ids = np.array([index[ch] for ch in text], dtype=np.int64)
        seed = run_seed(self.seed)  # a Generator's draw: the Trainer takes None or an integer
        n = (len(ids) - 1) // B  # stream b is ids[b*n : (b+1)*n], its targets shifted by one
        X = ids[: B * n].reshape(B, n)  # (B, n) token ids, one-hot encoded by the model per chunk
        Y = ids[1 : B * n + 1].reshape(B, n)  # (B, n) the next character
        validation = None
        if held:  # one stream (1, m - 1): its characters and the next ones; unseen characters are "unknown" (0)
            _warn_unseen(sorted(set(held) - set(vocab)), where, "the held-out text (validation_split)",
                         "so val_loss is not that of this text. Use a smaller validation_split, or a text whose end "
                         "holds only characters of the rest.", 3)  # fmt: skip
            v = np.array([index.get(ch, 0) for ch in held], dtype=np.int64)
            validation = (v[None, :-1], v[None, 1:])
        model = SequenceModel(
            len(vocab), len(vocab), self.hidden_size, num_layers=self.num_layers, dropout=self.dropout,
            forget_bias=self.forget_bias, lstm_options=options, head="all", inputs="tokens", dtype=np.float32, seed=seed,
        )  # fmt: skip
        # what a resume compares: the parameters by their names (as the estimators'), but epochs and verbose
        # (validation_split and patience only when set: a checkpoint written before they were parameters resumes)
        settings = {k: v for k, v in params.items() if k not in ("epochs", "verbose")
                    and not (k in UNSET_OMITTED and UNSET_OMITTED[k](v))}  # fmt: skip
        trainer = Trainer(
            model, loss="cross_entropy", optimizer=self.optimizer, lr=self.learning_rate, batch_size=B,
            shuffle=False, clip=self.clip, bptt=L, patience=self.patience, seed=seed, verbose=self.verbose, settings=settings,
            stream=stream,
        )  # fmt: skip
        history = trainer.fit(X, Y, epochs=epochs, validation_data=validation, checkpoint=checkpoint, resume=resume, on_resume=on_resume)
        model.eval()
        self.vocab_, self._index, self.model_, self.history_ = vocab, index, model, history
        self.n_updates_ = len(history.epochs) * -(-n // L)  # the epochs run (fewer when stopped early)
        self.n_train_chars_ = len(text)  # the training part: the text less validation_split's end
        self.fitted_params_ = params
        return self

    # -- use -------------------------------------------------------------------------------
    def _step_logits(self, ids: np.ndarray, state):
        """Run the model over ``ids`` (n,) from ``state``: logits (n, V), new state."""
        with self.model_.no_grad():
            logits, state = self.model_(np.asarray(ids, dtype=np.int64)[None], state=state)  # (1, n, V)
        return logits[0].astype(np.float64), state

    def _stepper(self, state):
        """``step(id) -> logits (V,)``: the model on one more character, from ``state`` (the LSTM's
        (h, c) after the characters so far), the state carried inside.

        Through the LSTM's stream (``lstm.stream()``: checks and set-up once, one compiled step per
        character) and the read-out ``z = h W^T + b``, as :class:`lstmkit.Linear` computes it; for
        an LSTM with variant options (which the stream does not run), the model on one character.
        """
        rnn, head = self.model_.rnn, self.model_.head
        if not rnn.variant.is_plain:

            def step(i):
                nonlocal state
                logits, state = self._step_logits(np.array([i]), state)
                return logits[-1]

            return step
        stream = rnn.stream(batch_size=1, state=state)
        x = np.zeros((1, rnn.input_size), dtype=rnn.dtype)  # the one-hot row of the character
        W, b = head.parameters()["weight"], head.parameters().get("bias")

        def step(i):
            x[0, i] = 1
            h = stream.step(x)  # (1, P)
            x[0, i] = 0
            z = h[0] @ W.T  # (V,)
            if b is not None:
                z += b
            return z.astype(np.float64)

        return step

    def perplexity(self, text) -> float:
        """exp(mean -log p(next char)) over ``text`` (str or path: a str is the text itself, see
        fit), state carried from its start: exp of the loss in nats per character; log2 of it is
        the bits per character.

        Characters never seen at fit are read as "unknown" (a :class:`TextWarning` names them): as
        inputs they tell the model nothing, and as targets they are scored by the probability of
        "unknown", which the model never saw either, so the number is not that of the text."""
        self._check_fitted("perplexity")
        where = f"{KIND}.perplexity"
        text = _as_text(text, where)
        if len(text) < 2:
            fail(where, "text", "at least 2 characters", len(text))
        self.warn_unseen(text, where, "text", "so the perplexity is not that of this text. Score text written in the "
                         "training text's characters.", stacklevel=3)  # fmt: skip
        from .functional import log_softmax

        ids = self.encode(text)
        state, nll, chunk = None, 0.0, 1000
        for s in range(0, len(ids) - 1, chunk):
            inp = ids[s : min(s + chunk, len(ids) - 1)]
            tgt = ids[s + 1 : s + 1 + len(inp)]
            logits, state = self._step_logits(inp, state)
            nll -= float(log_softmax(logits, axis=-1)[np.arange(len(tgt)), tgt].sum())
        return float(np.exp(nll / (len(ids) - 1)))

    def generate(self, prime: str = "\n", length: int = 200, temperature: float = 1.0, top_k: int | None = None, seed=None) -> str:
        """``prime`` followed by ``length`` sampled characters (see the module docstring): str.

        ``seed=None`` (default): new samples on every call (the generator's own ``seed`` is its
        training's, not the sampling's); pass ``seed=`` (an int or a numpy Generator) for repeatable
        text, as ``lstmkit generate --seed`` (default 0) does."""
        self._check_fitted("generate")
        where = f"{KIND}.generate"
        length = check_int(length, where, "length", minimum=0)
        temperature = check_temperature(temperature, where)
        if top_k is not None:
            top_k = check_int(top_k, where, "top_k", minimum=1)
        if not isinstance(prime, str):
            fail(where, "prime", "a non-empty str", type(prime).__name__, "Use for example prime='\\n'.", exc=TypeError)
        if not prime:
            fail(where, "prime", "a non-empty str", repr(prime), "Use for example prime='\\n'.")
        rng = check_rng(seed, where)
        self.warn_unseen(prime, where, "prime", "which tells it nothing. Use characters of the training text.", stacklevel=3)
        logits, state = self._step_logits(self.encode(prime), None)
        z = logits[-1]
        step = self._stepper(state)  # then one character at a time
        out = []
        for _ in range(length):
            z[0] = -np.inf  # never sample "unknown"   (z (V,) float64, the step's own copy)
            if top_k is not None and top_k < len(z) - 1:
                z[z < np.sort(z)[-top_k]] = -np.inf  # (the k largest of z are those of z / τ)
            with np.errstate(over="ignore"):  # a tiny τ: (z_k - max z) / τ overflows to -inf, exp gives 0
                p = np.exp((z - z.max()) / temperature)  # each exponent <= 0: at most 1, the largest 1
            p /= p.sum()
            nxt = int(rng.choice(len(p), p=p))
            out.append(self.vocab_[nxt])
            z = step(nxt)
        return prime + "".join(out)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the model file (lstmkit.modelfile; no pickle), atomically, with the parameters of
        the fit (``fitted_params_``, not those of a ``set_params`` since)."""
        from .modelfile import save_model

        self._check_fitted("save")
        extra = {"vocab": [ord(c) for c in self.vocab_], "n_updates": self.n_updates_, "history": file_history(self.history_)}
        save_model(path, KIND, {"params": self.fitted_params_, "model": self.model_.config()}, self.model_.state_dict(), extra)

    @classmethod
    def load(cls, path) -> "TextGenerator":
        """Read a file written by :meth:`save` (refuses other kinds of model files)."""
        from .saving import load

        return load(path, kind=KIND)

    @classmethod
    def _from_model_file(cls, mf, path="") -> "TextGenerator":
        """The generator in ``mf``; a vocabulary that disagrees with the one-hot input or the
        read-out, a model config fit never builds, ... is refused with a FileFormatError naming it."""
        from .estimators import _check_params_match_model, _refuser, _restore_record
        from .io import FileFormatError
        from .modelfile import check_model_config
        from .models import SequenceModel

        refuse = _refuser(path)
        try:
            gen = cls(**mf.config["params"])
            check_hyper_parameters(gen, KIND)  # as fit checks them (seq_len among them): a seed "x" loaded
            codes = mf.extra["vocab"]
            if not isinstance(codes, list) or not all(is_int(c) and 0 <= c <= 0x10FFFF for c in codes):
                refuse("vocab", "a list of Unicode code points", f"{codes!r:.80}")
            if not codes or codes[0] != ord(UNKNOWN) or len(set(codes)) != len(codes):
                refuse("vocab", "distinct code points, the first 0 (unknown)", f"{codes!r:.80}")
            check_model_config(mf.config["model"], mf.arrays, path)  # sizes before allocating (a SequenceModel's)
            model = SequenceModel(**dict(mf.config["model"]))
            for key, value in (("inputs", "tokens"), ("head", "all"), ("readout", "linear"), ("cell", "lstm")):
                if model.config()[key] != value:
                    refuse(f"model config {key}", repr(value), repr(model.config()[key]))
            for key, size in (("input_size", model.input_size), ("output_size", model.output_size)):
                if size != len(codes):
                    refuse("vocab", f"{size} characters (the model's {key})", len(codes))
            model.load_state_dict(mf.arrays)
            _check_params_match_model(gen, model, refuse)
            n_updates = mf.extra.get("n_updates", 0)
            if not is_int(n_updates) or n_updates < 0:
                refuse("n_updates", "an integer >= 0", repr(n_updates))
            if "history" in mf.extra:  # files written before it was saved load without it
                _restore_record(gen, mf.extra, refuse, epochs=False)
        except FileFormatError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise FileFormatError(f"{path}: expected a valid TextGenerator model file, got one that fails to load ({exc}).") from None
        model.eval()
        gen.vocab_ = "".join(chr(c) for c in codes)
        gen.model_, gen.n_updates_ = model, n_updates
        gen.fitted_params_ = json_params(gen.get_params())  # the file's parameters, those of its fit
        gen._index = {ch: i for i, ch in enumerate(gen.vocab_)}
        return gen

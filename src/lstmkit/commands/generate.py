"""``lstmkit generate``: train a character-level LSTM on a text (or load one) and sample from it."""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings

from .._checks import count
from ..text import GREEDY, UNSET_OMITTED, TextGenerator
from ._lstm import add_lstm_arguments, add_verbose_argument, lstm_options
from ._options import add_check, fraction, integer, number, positive, record_typed, refuse_with_model

HELP = "train a character-level LSTM on a text file (or load one) and generate text"
EXAMPLE = (
    "lstmkit generate --text builtin:stdlib --epochs 2 --hidden-size 64 --model-out chars.npz "
    "--prime 'def ' --length 200 --temperature 0.5 0.8 1.0"
)

#: what a loaded model (--model) reads: the other options set up the training of a new one and are refused with it
WITH_MODEL = ("model", "prime", "length", "temperature", "top_k", "seed")

#: the classes whose errors name their arguments, and those spelled otherwise on this command line:
#: lstmkit.cli shows the options instead (commands._options.name_options)
OWNERS = ("TextGenerator", "LSTM")
OPTIONS = {"learning_rate": "--lr", "text": "--text"}


#: TextGenerator's gradient clipping, which generate does not set: said in --help
CLIP = TextGenerator().clip


def temperature(text: str) -> float:
    """An argument type: a temperature, a number > 0 (:func:`lstmkit.text.check_temperature`'s rule,
    here before anything is trained); 0 (greedy decoding, as some tools take it) and below are
    refused pointing to --top-k 1, in the library's words (:data:`lstmkit.text.GREEDY`)."""
    try:
        return positive(text)
    except argparse.ArgumentTypeError as exc:
        try:
            number(text)
        except argparse.ArgumentTypeError:
            raise exc from None
        raise argparse.ArgumentTypeError(f"{exc}. {GREEDY.format('--top-k 1')}") from None


def prime(text: str) -> str:
    """An argument type: the text to start from, at least one character (TextGenerator.generate's
    rule, here before anything is trained; it said "expected prime a non-empty str ... prime='\\n'",
    exit 1, after the training)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a text of at least one character, got ''")
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text", help="training text: a UTF-8 file, or builtin:stdlib (Python's own standard-library source)")
    p.add_argument("--model", help="a saved TextGenerator to sample from (no training: the training options are refused with it)")
    p.add_argument("--model-out", help="save the trained generator here")
    p.add_argument("--max-chars", type=integer(1), default=200_000,
                   help="use at most this many characters of the text (default %(default)s)")
    p.add_argument("--held-out", type=fraction, default=0.1, help="fraction kept aside (the end) for perplexity (default %(default)s)")
    p.add_argument("--hidden-size", type=integer(1), default=128, help="LSTM units (default %(default)s)")
    p.add_argument("--num-layers", type=integer(1), default=1, help="stacked layers (default %(default)s)")
    p.add_argument("--seq-len", type=integer(1), default=50, help="truncated-BPTT chunk length (default %(default)s)")
    p.add_argument("--batch-size", type=integer(1), default=32, help="parallel text streams (default %(default)s)")
    p.add_argument("--epochs", type=integer(1), default=5, help="passes over the text (default %(default)s)")
    p.add_argument("--validation-split", type=fraction, default=0.0,
                   help="fraction of the training text (what --held-out leaves) held out at its end, scored after each "
                        "epoch as val_loss, nats per character (default %(default)s: none)")  # fmt: skip
    p.add_argument("--patience", type=integer(0), default=None,
                   help="early stopping: stop after this many epochs without improvement and keep the best epoch's "
                        "weights; it watches val_loss with --validation-split, else the training loss (default: off)")  # fmt: skip
    p.add_argument("--lr", type=positive, default=0.01,
                   help=f"Adam's learning rate (default %(default)s); the gradients' global norm is clipped at {CLIP} "
                        f"(TextGenerator's clip)")  # fmt: skip
    p.add_argument("--prime", type=prime, default="\n", help="text to start from (default: a newline)")
    p.add_argument("--length", type=integer(0), default=300, help="characters to generate (default %(default)s)")
    p.add_argument("--temperature", type=temperature, nargs="+", default=[1.0],
                   help="one sample per temperature, > 0 (default 1.0); for greedy decoding use --top-k 1")
    p.add_argument("--top-k", type=integer(1), default=None,
                   help="sample among the k likeliest characters (default: all; 1: greedy, the likeliest)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the training and the sampling (default %(default)s)")
    add_verbose_argument(p, "stderr")  # the sample is the product: `generate ... > sample.txt` holds no epoch lines
    p.add_argument("--checkpoint", metavar="PATH",
                   help="write a checkpoint here after every epoch (atomically); if it exists, resume from it "
                        "(run the same command again after an interruption: the same model as without one)")
    add_lstm_arguments(p)
    record_typed(p)  # which were typed: with --model, those it would not read are refused
    add_check(p, lambda args: check_text_name(args.text))
    add_check(p, check_model_options)


#: the built-in texts (--text)
BUILTIN_TEXTS = ("builtin:stdlib",)


def check_text_name(spec: str | None) -> None:
    """Refuse (UsageError, exit 2) a ``--text builtin:NAME`` not among :data:`BUILTIN_TEXTS`: a value of
    the command line, refused before the command runs."""
    if spec is not None and spec.startswith("builtin:") and spec not in BUILTIN_TEXTS:
        from ..cli import UsageError

        raise UsageError(f"generate: expected --text a file or a built-in text among {list(BUILTIN_TEXTS)}, got {spec!r}.")


def check_model_options(args: argparse.Namespace) -> None:
    """Refuse (UsageError, exit 2), before the command runs, a command line that neither trains nor
    loads a model (no --text, no --model), or that loads one beside the options it would not read:
    --text, --model-out (a copy), the training options (:func:`._options.refuse_with_model`)."""
    from ..cli import UsageError

    if not args.model:
        if not args.text:
            raise UsageError("generate: expected --text (a file or builtin:stdlib) to train on, or --model, got neither.")
        return
    if args.text:
        raise UsageError(f"generate: expected --text (train a new model) or --model (sample from a saved one), got both: "
                         f"--text {args.text} would not be read. Leave out one of them.")  # fmt: skip
    if args.model_out:
        raise UsageError(f"generate: expected --model-out without --model, got both. A loaded model is not "
                         f"retrained: copy {args.model} instead.")  # fmt: skip
    refuse_with_model("generate", args, WITH_MODEL)  # --epochs, --hidden-size, ...: not read, so not taken


def read_training_text(spec: str, max_chars: int) -> str:
    """At most ``max_chars`` of the text ``spec`` names, one :func:`check_text_name` takes (run before the command)."""
    if spec == "builtin:stdlib":
        from ..datasets import stdlib_text

        return stdlib_text(max_chars)
    from ..tables import read_text

    return read_text(spec)[:max_chars]


#: the settings a checkpoint records (TextGenerator's parameters) that an option sets: a resume refused for
#: one names the option (--lr for learning_rate; lstm_options as the flags of its entries, train's way)
FLAGS = frozenset(("hidden_size", "num_layers", "seq_len", "batch_size", "learning_rate", "seed", "forget_bias", "lstm_options",
                   "validation_split", "patience"))  # fmt: skip
#: the settings that differ when the text does (its characters: the vocabulary's size)
TEXT_SETTINGS = ("model input_size", "model output_size")


def resume_refused(exc, path: str) -> str:
    """The library's refusal (:class:`~lstmkit.checkpoint.ResumeRefused`) of the checkpoint ``path`` in
    this command's words: another text (other characters or another --max-chars, --held-out,
    --validation-split); else,
    as train says them (:func:`lstmkit.commands.train.resume_refused`), the option (``--lr``, not
    ``learning_rate``) or --epochs below the epochs it has run; else the library's own."""
    from ..checkpoint import afresh as how
    from .train import resume_refused as in_words

    if exc.reason == "data" or (exc.reason == "settings" and exc.setting in TEXT_SETTINGS):
        return (f"generate: the checkpoint {path} was written while training on another text, got --text, --max-chars, "
                f"--held-out and --validation-split that give other training characters. Resume with the same ones, or {how(path, '--checkpoint')}.")  # fmt: skip
    if exc.reason == "settings" and exc.setting in UNSET_OMITTED and exc.missing:  # not recorded: not set
        exc.recorded = None if "recorded" in exc.missing else exc.recorded
        exc.current = None if "current" in exc.missing else exc.current
        exc.missing = ()
    return in_words(exc, path, "generate", FLAGS, tasks={}) or f"generate: {str(exc).removeprefix('load_checkpoint: ')}"


def fit_checkpointed(gen, train: str, args: argparse.Namespace, progress) -> None:
    """``gen.fit(train)``, its progress on the stream ``progress`` (stderr), with ``--checkpoint``:
    written after every epoch, and resumed from where it exists ('resuming ...' said on stdout once
    every check has passed; a refusal in the command's words, :func:`resume_refused`). An interrupt (Ctrl-C) says what it leaves: the checkpoint's epoch
    and how to resume (train's words), or that nothing was saved. fit's warning of characters of the
    --validation-split end never seen in the rest is silenced: :func:`run` says it in the command's words."""
    from ..checkpoint import ResumeRefused
    from ..text import TextWarning
    from ._interrupt import NOTHING_SAVED, interrupted_note

    path = args.checkpoint

    def resumed(trainer) -> None:
        print(f"resuming from the checkpoint {path}: {count(trainer.epoch, 'epoch')} of {args.epochs} done", flush=True)

    try:
        with warnings.catch_warnings():  # fit's warning of the validation_split end's unseen characters: run says it
            warnings.filterwarnings("ignore", r"TextGenerator\.fit: the held-out text \(validation_split\) ", TextWarning)
            if path and os.path.exists(path):  # in the command's words, once fit has its vocabulary
                gen.fit(train, checkpoint=path, resume=True, on_resume=resumed, stream=progress)
            else:
                gen.fit(train, checkpoint=path, stream=progress)
    except ResumeRefused as exc:
        from ..cli import CommandError

        raise CommandError(resume_refused(exc, path)) from None
    except KeyboardInterrupt:  # also inside a compiled kernel (the LSTM converts numba's SystemError)
        raise KeyboardInterrupt(interrupted_note(path, args.epochs) if path else NOTHING_SAVED) from None


def run(args: argparse.Namespace) -> int:
    from ..cli import CommandError
    from ..text import TextGenerator, TextWarning, min_text_length, uniform_guess

    if args.model:  # the options beside it were checked before the command ran (check_model_options)
        gen = TextGenerator.load(args.model)
    else:
        text = read_training_text(args.text, args.max_chars)
        cut = int(len(text) * (1 - args.held_out))
        train, held = text[:cut], text[cut:]
        need = min_text_length(args.batch_size, args.seq_len)  # what TextGenerator.fit needs, said with the options
        if len(train) < need:  # say where the characters went (--max-chars, --held-out): fit sees only the training part
            source = f"--max-chars {args.max_chars}" if len(text) == args.max_chars else f"the text's {len(text)}"
            got = f"{len(train)} ({source}, less {len(held)} held out by --held-out {args.held_out:g})" if held else str(len(train))
            raise CommandError(f"generate: expected at least --batch-size*--seq-len+1 = {need} characters to train on, got {got}. "
                               f"Use a longer text (or a larger --max-chars), or a smaller --batch-size or --seq-len.")  # fmt: skip
        gen = TextGenerator(
            hidden_size=args.hidden_size, num_layers=args.num_layers, seq_len=args.seq_len, batch_size=args.batch_size,
            epochs=args.epochs, learning_rate=args.lr, seed=args.seed, forget_bias=args.forget_bias,
            lstm_options=lstm_options(args), validation_split=args.validation_split, patience=args.patience, verbose=args.verbose,
        )  # fmt: skip
        # the training's progress (the epoch lines, or the live bar when stderr is a terminal) on stderr: stdout is the sample's
        fit_checkpointed(gen, train, args, progress=sys.stderr)
        losses = ", ".join(f"{e['loss']:.3f}" for e in gen.history_.epochs)
        distinct = len(gen.vocab_) - 1  # the vocabulary's entry 0 is 'unknown' (a character not seen), never sampled
        print(f"trained on {count(gen.n_train_chars_, 'character')} ({distinct} distinct), {count(gen.n_updates_, 'update')}; "
              f"loss per epoch (nats per character; / ln 2 for bits): {losses}")
        if args.validation_split:  # the end of the training text, held out by fit (--validation-split)
            vals = ", ".join(f"{e['val_loss']:.3f} ({math.exp(e['val_loss']):.2f})" for e in gen.history_.epochs)
            print(f"validation loss per epoch (the last {args.validation_split * 100:g}% of the training text; nats per "
                  f"character, perplexity in brackets): {vals}")  # fmt: skip
            # fit's warning in the command's words: --validation-split holds out the end, whatever it holds
            gen.warn_unseen(train[gen.n_train_chars_ :], "generate", f"the end held out by --validation-split (the last "
                            f"{args.validation_split * 100:g}% of the training text)", "so the validation loss is not that of "
                            "this text. Use a smaller --validation-split, or a text whose end holds only characters of the rest.")  # fmt: skip
        if len(held) > 1:
            with warnings.catch_warnings():  # the library's words ("text has ... Score text written in ...") fit a text
                warnings.simplefilter("ignore", TextWarning)  # one chose; this one is the end of --text: said below
                perplexity = gen.perplexity(held)
            gen.warn_unseen(held, "generate", f"the held-out text (the last {args.held_out * 100:g}% of --text, --held-out)",
                            "so the held-out perplexity is not that of this text.")  # fmt: skip
            bits = math.log2(perplexity)  # the mean loss in bits: nats / ln 2
            print(f"held-out perplexity: {perplexity:.2f} ({bits:.2f} bits per character; {uniform_guess(gen)})")
        if args.model_out:
            gen.save(args.model_out)
            print(f"model saved to {args.model_out}")
    # the prime's characters never seen at fit, said once in the command line's words (the library's name prime=)
    gen.warn_unseen(args.prime, "generate", "--prime", "which tells it nothing. Use characters of the training text.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextWarning)  # the library's words for the same characters, said above
        for t in args.temperature:
            sample = gen.generate(args.prime, args.length, temperature=t, top_k=args.top_k, seed=args.seed)
            print(f"\n--- temperature {t} ---\n{sample}")
    return 0

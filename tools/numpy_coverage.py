"""`python tools/numpy_coverage.py --coverage`: which public jax.numpy names xform.numpy has.

It lives in tools/ because it imports jax.numpy (to list its names); library code never does."""
import argparse
import sys


def coverage(verbose: bool = False) -> int:
    import jax.numpy as reference  # the API we follow

    import xform.numpy as ours

    theirs = {n for n in dir(reference) if not n.startswith("_")}
    have = sorted(n for n in theirs if hasattr(ours, n))
    missing = sorted(theirs - set(have))
    print(f"xform.numpy has {len(have)} of jax.numpy's {len(theirs)} public names")
    fft_theirs = {n for n in dir(reference.fft) if not n.startswith("_")}
    fft_missing = sorted(n for n in fft_theirs if not hasattr(getattr(ours, "fft", None), n))
    print(f"xform.numpy.fft has {len(fft_theirs) - len(fft_missing)} of jax.numpy.fft's "
          f"{len(fft_theirs)} public names")
    if verbose:
        print("\nmissing:\n  " + "\n  ".join(missing + ["fft." + n for n in fft_missing]))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/numpy_coverage.py")
    parser.add_argument("--coverage", action="store_true", help="compare names with jax.numpy")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the missing names")
    args = parser.parse_args(argv)
    if args.coverage:
        return coverage(args.verbose)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())

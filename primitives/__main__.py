"""`python -m primitives`: print the meta-operator table."""
from . import ops


def main() -> None:
    fams = ops.families()
    print(f"{len(fams)} meta-operators (families), {len(ops.REGISTRY)} variants\n")
    print(f"{'family':<24} {'parameters':<44} variants")
    for fam, prims in fams.items():
        params = sorted({p for prim in prims for p in prim.params})
        names = ", ".join(p.name for p in prims) if len(prims) > 1 or prims[0].name != fam else "-"
        print(f"{fam:<24} {', '.join(params) or '-':<44} {names}")


if __name__ == "__main__":
    main()

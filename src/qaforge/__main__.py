"""``python -m qaforge``: the same as the ``qaforge`` command."""

if __name__ == "__main__":
    from qaforge.cli import main

    main()

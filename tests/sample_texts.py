"""Short factual passages that several test packages build chunks and pairs from."""

EIFFEL = ("The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. "
          "It was designed by the engineering company of Gustave Eiffel and completed in "
          "1889 for the World's Fair. The tower is 330 metres tall and was the tallest "
          "man-made structure in the world until 1930.")
NILE = ("The Nile is a major north-flowing river in northeastern Africa. It flows into the "
        "Mediterranean Sea and is about 6,650 kilometres long. The Nile has two major "
        "tributaries, the White Nile and the Blue Nile, which meet at Khartoum in Sudan.")

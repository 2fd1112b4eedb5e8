"""`python -m transformer.course [NN ...]`: run chapters in full and rewrite their figures."""

import sys

from transformer.course.run import main

sys.exit(main())

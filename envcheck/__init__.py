"""envcheck: will this training job run, here and there, the same way?"""

__version__ = "0.1.0"

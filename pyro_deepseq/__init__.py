"""pyro_deepseq: DeepSequence (Riesselman, Ingraham & Marks 2018) as a Pyro library.

Learn a protein family's sequence distribution from a multiple sequence alignment and score
mutations of its focus protein by how much they change the sequence's log-probability.
"""

from .alignment import ALPHABETS, Alignment
from .errors import DataError, DataWarning
from .independent import SiteIndependentModel
from .mutations import MutationSet, Substitution, parse_mutant
from .weights import sequence_weights

__all__ = [
    "ALPHABETS",
    "Alignment",
    "DataError",
    "DataWarning",
    "MutationSet",
    "SiteIndependentModel",
    "Substitution",
    "parse_mutant",
    "sequence_weights",
]
__version__ = "0.1.0"

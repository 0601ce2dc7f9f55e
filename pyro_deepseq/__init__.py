"""pyro_deepseq: DeepSequence (Riesselman, Ingraham & Marks 2018) as a Pyro library.

Learn a protein family's sequence distribution from a multiple sequence alignment and score
mutations of its focus protein by how much they change the sequence's log-probability.

The package's layers, each importing only from those below it: ``utils`` (devices, files) →
``data`` (alignments, weights, mutants) → ``models`` (the VAEs and their objective) →
``inference`` (training), ``scoring`` and ``evaluation`` (metrics, classification) → ``plots`` →
the API (``DeepSequence``, ``Ensemble``) → ``workflows`` (sweeps, ProteinGym) → ``cli`` (the
commands; ``deepseq NAME`` runs one).
"""

from . import _moved, plots
from .api import DeepSequence, Ensemble, Predictions
from .data.alignment import ALPHABETS, Alignment
from .data.fasta import read_sequence_labels
from .data.mutations import MutationSet, Substitution, parse_mutant
from .data.weights import sequence_weights
from .errors import DataError, DataWarning
from .models.independent import SiteIndependentModel
from .scoring import ScoringOptions

__all__ = [
    "ALPHABETS",
    "Alignment",
    "DataError",
    "DataWarning",
    "DeepSequence",
    "Ensemble",
    "MutationSet",
    "Predictions",
    "ScoringOptions",
    "SiteIndependentModel",
    "Substitution",
    "parse_mutant",
    "plots",
    "read_sequence_labels",
    "sequence_weights",
]
__version__ = "0.1.0"

_moved.install()

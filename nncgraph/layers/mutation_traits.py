"""The words a layer's `mutation_traits` may use, and what each means to NNC's structure-search rules
(search/mutation.py), which find the layers they concern by these traits."""

MUTATION_TRAITS = {
    "activation": "InsertActivation, and the blocks InsertAffine and InsertConvolution add, insert it",
    "removable_activation": "RemoveActivation removes it",
    "pooling": "RemovePooling removes it",
    "inserted_pooling": "InsertPooling inserts it",
    "basic": "RemoveBasicLayer removes it",
    "insertion_site": "activations, pooling, Dropout and BatchNormalization are inserted after it",
    "convolution": "InsertConvolution adds a block after it; Branch puts a copy beside it",
    "join": "it joins branches: a branch RemoveBranch removes ends at it",
    "sets_size": "it sets its output's map or feature count itself, so a change upstream stops there",
    "absorbs_spatial": "its output does not depend on its input's height and width",
    "keeps_channels": "its output has as many channels as its input",
}

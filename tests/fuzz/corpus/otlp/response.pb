
two rejected
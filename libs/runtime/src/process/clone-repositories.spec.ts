import { repositoryNameProblem } from './clone-repositories.js';

describe('repositoryNameProblem', () => {
  it.each(['analysis', 'my-repo', 'repo.v2', '.dotfiles'])('accepts %s', (name) => {
    expect(repositoryNameProblem(name)).toBeNull();
  });

  it.each(['', '.', '..', 'a/b', '../up', 'a\\b', 'x.cloning'])('refuses %j', (name) => {
    expect(repositoryNameProblem(name)).not.toBeNull();
  });
});
